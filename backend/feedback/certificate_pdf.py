"""The certificate as PDF (fpdf2), with a subset of a CJK TrueType font embedded so that
Chinese renders on any viewer, whatever fonts it has."""
from __future__ import annotations

import io
import os

from backend.clock import TZ
from backend.errors import ServiceUnavailable
from backend.feedback.models import Certificate

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
SOURCES = {"scan": "扫码签到", "manual": "人工补录"}


def cjk_font(config=None) -> str:
    """The CJK font file: CJK_FONT_PATH (config, then environment), else a Debian font."""
    configured = (config or {}).get("CJK_FONT_PATH") or os.environ.get("CJK_FONT_PATH")
    for path in ([configured] if configured else []) + list(FONT_CANDIDATES):
        if path and os.path.exists(path):
            return path
    raise ServiceUnavailable("证明生成暂不可用：服务器缺少中文字体（请安装 fonts-wqy-microhei）")


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.1f}"


def _qr_png(text: str) -> io.BytesIO:
    import qrcode

    buf = io.BytesIO()
    qrcode.make(text, border=1).save(buf, format="PNG")
    buf.seek(0)
    return buf


def render(cert: Certificate, rec: dict, *, verify_url: str, config=None) -> bytes:
    """The PDF bytes of a certificate and the record it certifies."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    class Paged(FPDF):
        def footer(self):
            # on every page: a page cannot be swapped into another certificate unnoticed
            self.set_y(-12)
            self.set_font("cjk", size=8)
            self.cell(0, 6, f"证明编号：{cert.number}　验证码：{cert.code}　第 {self.page_no()} 页 / 共 {{nb}} 页",
                      align="C")

    pdf = Paged(format="A4")
    pdf.set_title(f"志愿服务记录证明 {cert.number}")
    pdf.set_creator("社区党建")
    pdf.add_font("cjk", "", cjk_font(config))
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.set_font("cjk", size=22)
    pdf.cell(0, 16, "志愿服务记录证明", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    pdf.cell(0, 7, f"证明编号：{cert.number}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    community = rec["community"].name if rec["community"] else "社区"
    pdf.set_font("cjk", size=12)
    pdf.multi_cell(0, 8, (
        f"兹证明 {rec['name']}（手机号：{rec['phone'] or '未登记'}）于 {rec['from']:%Y年%m月%d日} 至 "
        f"{rec['to']:%Y年%m月%d日} 期间参加志愿服务 {len(rec['services'])} 次，累计服务时长 "
        f"{rec['total_minutes']} 分钟（{_hours(rec['total_minutes'])} 小时），其中扫码签到 "
        f"{rec['scanned_minutes']} 分钟，人工补录 {rec['manual_minutes']} 分钟。明细如下："),
        new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("cjk", size=10)
    head = FontFace(fill_color=(230, 230, 230))
    with pdf.table(col_widths=(10, 24, 30, 64, 26, 24), text_align=("CENTER", "CENTER", "LEFT", "LEFT", "RIGHT", "CENTER"),
                   headings_style=head, line_height=7) as table:
        table.row(["序号", "日期", "服务社区", "服务任务", "时长（分钟）", "记录方式"])
        for n, s in enumerate(rec["services"], 1):
            table.row([str(n), s["date"].isoformat(), s["community"], s["task"], str(s["minutes"]),
                       SOURCES.get(s["source"], s["source"])])
        table.row(["", "合计", "", f"共 {len(rec['services'])} 次", str(rec["total_minutes"]), ""])
    pdf.ln(6)
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 8, "特此证明。", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.cell(0, 8, f"出具单位：{community}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, f"出具日期：{cert.issued_at.astimezone(TZ):%Y年%m月%d日}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    y = pdf.get_y()
    if y > pdf.h - 50:
        pdf.add_page()
        y = pdf.get_y()
    pdf.image(_qr_png(verify_url), x=pdf.l_margin, y=y, w=30, h=30)
    pdf.set_font("cjk", size=10)
    pdf.set_xy(pdf.l_margin + 34, y + 3)
    pdf.multi_cell(pdf.epw - 34, 6, f"验证码：{cert.code}\n扫码或访问以下地址查验本证明：\n{verify_url}",
                   new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
