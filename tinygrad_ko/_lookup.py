"""The "unknown name" error every name lookup (activations, initializers, regularizers, losses,
metrics, optimizers) raises, so they all read alike."""
import difflib


def unknown_name_error(kind, name, valid):
    """ValueError for an unknown ``kind`` name, listing the valid names and the closest match
    (compared as given, then lower-cased: lookups that ignore case list lower-case names)."""
    valid = sorted(valid)
    name = str(name)
    close = (difflib.get_close_matches(name, valid, n=1)
             or difflib.get_close_matches(name.lower(), valid, n=1))
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(f"Unknown {kind}: {name!r}.{hint} Valid names: {', '.join(valid)}")
