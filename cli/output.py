"""What the `arqium` command prints: one line per component, secrets left out."""

from urllib.parse import urlsplit, urlunsplit


def say(component: str, message: str) -> None:
    """One start-up line per component."""
    print(f"arqium: {component:<9} {message}", flush=True)


def redact(url: str) -> str:
    """A database URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def add_progress_option(parser) -> None:
    """--no-progress, for the commands that show a progress bar on stderr."""
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar on stderr")
