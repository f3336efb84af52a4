"""Everything that talks to WeChat, through wechatpy."""


def client_for(app):
    """The app's WeChat client (one per process; its access_token lives in Redis)."""
    from backend.wechat.client import make_client

    if "wechat" not in app.extensions:
        app.extensions["wechat"] = make_client(app.config, app.extensions["redis"])
    return app.extensions["wechat"]
