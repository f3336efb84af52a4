from backend import create_app

app = create_app()
