"""The server's own TLS (`cbt-server serve --tls-cert --tls-key`): HTTPS and WSS
without a proxy, so that the staff cookies' Secure flag is real."""

from __future__ import annotations

import ssl

from cbt_server.settings import Settings, SettingsError


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The server's TLS context from `tls_cert` and `tls_key`; None when they are unset.
    SettingsError naming the file when they cannot be used."""
    if not settings.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except FileNotFoundError as error:
        raise SettingsError(f"TLS file not found: {error.filename}") from None
    except (ssl.SSLError, OSError) as error:
        raise SettingsError(
            f"cannot use TLS certificate {settings.tls_cert!r} with key "
            f"{settings.tls_key!r}: {error}"
        ) from None
    return context
