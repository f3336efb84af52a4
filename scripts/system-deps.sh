#!/bin/sh
# System packages the product needs beyond PyPI: a CJK font (the certificate PDF embeds it;
# Chromium draws Chinese with it) and poppler-utils (tests read the PDF back).
# Installed with apt when missing and we may; otherwise say what is missing and go on.
need=""
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 || need="$need fonts-wqy-microhei"
command -v pdftotext >/dev/null 2>&1 || need="$need poppler-utils"
[ "${WITH_BENCH:-0}" = 1 ] && ! command -v wrk >/dev/null 2>&1 && need="$need wrk"
[ "${WITH_BROWSER:-0}" = 1 ] && ! command -v chromium >/dev/null 2>&1 && need="$need chromium"
# Chromium's zh-CN locale, for date and time pickers drawn in Chinese in the browser tests' screenshots
[ "${WITH_BROWSER:-0}" = 1 ] && [ ! -f /usr/lib/chromium/locales/zh-CN.pak ] && need="$need chromium-l10n"
[ -z "$need" ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing:$need"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null) \
    || echo "could not install$need; certificate PDF and browser tests will be skipped or fail"
else
  echo "missing system packages:$need (install them with apt-get; certificate/browser tests skip without them)"
fi
exit 0
