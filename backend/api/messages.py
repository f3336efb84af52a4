"""Chinese field messages for every validation error: people read `details` too.

marshmallow's defaults are English; they are replaced once here, at import, for every schema."""
import marshmallow as ma
from marshmallow import validate as v

ma.Schema._default_error_messages = {"type": "输入类型无效", "unknown": "未知字段"}
ma.fields.Field.default_error_messages = {"required": "此项必填", "null": "此项不能为空", "validator_failed": "取值无效"}
_FIELDS = {
    ma.fields.String: {"invalid": "应为文本", "invalid_utf8": "不是有效的 UTF-8 文本"},
    ma.fields.Integer: {"invalid": "应为整数"},
    ma.fields.Number: {"invalid": "应为数字", "too_large": "数字过大"},
    ma.fields.Float: {"special": "不允许 NaN 或无穷大"},
    ma.fields.Boolean: {"invalid": "应为 true 或 false"},
    ma.fields.DateTime: {"invalid": "时间格式无效（应为 ISO 8601）", "invalid_awareness": "时间格式无效",
                         "format": "无法格式化时间"},
    ma.fields.Date: {"invalid": "日期格式无效（应为 YYYY-MM-DD）", "format": "无法格式化日期"},
    ma.fields.List: {"invalid": "应为列表"},
    ma.fields.Nested: {"type": "应为对象"},
    ma.fields.Dict: {"invalid": "应为对象"},
    ma.fields.Email: {"invalid": "邮箱格式无效"},
}
for _cls, _messages in _FIELDS.items():
    _cls.default_error_messages = {**_cls.default_error_messages, **_messages}

v.Length.message_min = "长度不能少于 {min}"
v.Length.message_max = "长度不能超过 {max}"
v.Length.message_all = "长度应在 {min} 到 {max} 之间"
v.Length.message_equal = "长度应为 {equal}"
v.Range.message_gte = "大于等于"
v.Range.message_gt = "大于"
v.Range.message_lte = "小于等于"
v.Range.message_lt = "小于"
v.Range.message_min = "应{min_op} {{min}}"
v.Range.message_max = "应{max_op} {{max}}"
v.Range.message_all = "应{min_op} {{min}} 且{max_op} {{max}}"
v.OneOf.default_message = "应为以下之一：{choices}"
v.Regexp.default_message = "格式不正确"
v.Email.default_message = "邮箱格式无效"
