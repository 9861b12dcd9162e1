"""Writes the nginx site (PORT, BASE_URL) and swagger-initializer.js (URLS > URL > SWAGGER_JSON_URL > SWAGGER_JSON
> the petstore example) of the swaggerapi/swagger-ui stand-in from its environment. Standard library only."""

import json
import os
from pathlib import Path

HTML = Path("/usr/share/nginx/html")
PETSTORE = "https://petstore.swagger.io/v2/swagger.json"

env = os.environ
port = env.get("PORT", "8080")
base_url = env.get("BASE_URL", "/").rstrip("/") + "/"

config = {"dom_id": "#swagger-ui", "deepLinking": True}
spec_root = None
if env.get("URLS"):
    config["urls"] = json.loads(env["URLS"])
    if env.get("URLS_PRIMARY_NAME"):
        config["urls.primaryName"] = env["URLS_PRIMARY_NAME"]
elif env.get("URL"):
    config["url"] = env["URL"]
elif env.get("SWAGGER_JSON_URL"):
    config["url"] = env["SWAGGER_JSON_URL"]
elif Path(env.get("SWAGGER_JSON", "/app/swagger.json")).is_file():
    spec = Path(env.get("SWAGGER_JSON", "/app/swagger.json"))
    config["url"] = f"./{spec.name}"
    spec_root = env.get("SWAGGER_ROOT") or str(spec.parent)
else:
    config["url"] = PETSTORE

(HTML / "swagger-initializer.js").write_text(
    "window.onload = function() {\n"
    f"  const config = {json.dumps(config)};\n"
    "  window.ui = SwaggerUIBundle(Object.assign(config, {\n"
    "    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],\n"
    "    plugins: [SwaggerUIBundle.plugins.DownloadUrl],\n"
    '    layout: "StandaloneLayout"\n'
    "  }));\n"
    "};\n"
)

# The spec file is served from its own directory, so that a changed file shows without a restart.
spec_location = f"root {spec_root}/; rewrite ^{base_url}(.*)$ /$1 break;" if spec_root else ""
Path("/etc/nginx/conf.d/default.conf").write_text(f"""
server {{
    listen {port};
    server_name localhost;
    index index.html;
    location {base_url} {{
        absolute_redirect off;
        alias {HTML}/;
        location ~ swagger-initializer.js {{ expires -1; }}
        location ~* \\.(?:json|yml|yaml)$ {{
            types {{ text/plain yaml; text/plain yml; application/json json; }}
            {spec_location}
            expires -1;
        }}
    }}
}}
""")
