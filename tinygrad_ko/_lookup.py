"""Name lookups shared by activations, initializers, regularizers, losses, metrics and optimizers:
the "unknown name" error they all raise, and the Keras serialize/get round trip."""
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


class Configurable:
    """Rebuilt from its ``get_config()`` (the constructor's keyword arguments), and shown as the
    constructor call."""

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def serialize_object(obj, base):
    """{"class_name": ..., "config": ...} for an instance of base, the form ``get_object`` reads
    back; anything else (a plain callable) is returned as it is (it round-trips within the process
    only)."""
    if not isinstance(obj, base):
        return obj
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def get_object(kind, identifier, by_name, class_names, callable_form):
    """None -> None; a name (by_name's or a class name) -> that factory called without arguments;
    a serialized dict -> ``cls.from_config``; a callable -> itself; else TypeError."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        factory = by_name.get(identifier) or class_names.get(identifier)
        if factory is None:
            raise unknown_name_error(kind, identifier, by_name)
        return factory()
    if isinstance(identifier, dict):
        cls = class_names.get(identifier.get("class_name"))
        if cls is None:
            raise unknown_name_error(kind, identifier.get("class_name"), class_names)
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret {kind} {identifier!r}: expected a name, a config dict "
                    f"or a {callable_form}")
