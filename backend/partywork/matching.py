"""共驻共建 matching: score a unit's resource against a community's need by category and
shared words (jieba's search-mode segmentation; stop words and single characters dropped)."""
from __future__ import annotations

import functools
import logging
import re

CATEGORY_WEIGHT = 10  # a category match outweighs any handful of shared words
STOP_WORDS = frozenset("""
的 了 和 与 及 或 等 为 在 对 把 被 给 让 向 从 到 是 有 需要 需求 提供 可以 能够 进行 开展 服务 活动 社区 单位
我们 他们 一些 一个 每周 每月 定期 相关 方面 工作 资源 帮助 支持 志愿 志愿者
""".split())
_WORD = re.compile(r"[\w]+", re.UNICODE)


@functools.lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@functools.lru_cache(maxsize=4096)
def keywords(text: str) -> frozenset[str]:
    """The meaningful words of a text: two or more characters (or an ASCII word), no stop words."""
    words = set()
    for w in _jieba().cut_for_search(text or ""):
        w = w.strip().lower()
        if not w or not _WORD.fullmatch(w) or w in STOP_WORDS:
            continue
        if len(w) >= 2 or w.isascii() and w.isalnum() and len(w) > 1:
            words.add(w)
    return frozenset(words)


def score(need_title: str, need_category: str, need_description: str, resource: str) -> dict | None:
    """{"score", "category_match", "keywords"} or None when nothing matches.

    A resource matches the category when the category (or one of its words) appears in it."""
    category = (need_category or "").strip()
    res_words = keywords(resource)
    category_match = bool(category) and (category in resource or bool(keywords(category) & res_words))
    shared = sorted((keywords(need_title) | keywords(need_description) | keywords(category)) & res_words)
    total = (CATEGORY_WEIGHT if category_match else 0) + len(shared)
    if total == 0:
        return None
    return {"score": total, "category_match": category_match, "keywords": shared}
