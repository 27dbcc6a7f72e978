"""Browser pages: Jinja2 templates and static JS/CSS, served by cbt_server. No build step."""
