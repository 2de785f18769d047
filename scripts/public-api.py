#!/usr/bin/env python3
"""Reduces rustdoc's JSON output for one crate to its public API: one line
per public item (its path, its kind and its signature), sorted.

    python3 scripts/public-api.py target/doc/exitstack.json > api/exitstack.txt

Run through scripts/public-api.sh, which makes the JSON (nightly rustdoc)
and compares or rewrites the snapshots in api/. Standard library only.

What is listed: every public item reachable from the crate root (through
`pub use` too, by the path users write), with its generics and bounds;
the fields and variants of public types; the methods, associated types and
constants of inherent impls; the trait impls of public types (auto traits
included: `Send`, `Sync`, `Unpin`, `UnwindSafe`, ... are API), but not
blanket impls (`impl<T> From<T> for T`, `Any`, ...), which every type gets.
Items hidden from the docs (`#[doc(hidden)]`) are not in rustdoc's JSON.
Type names in signatures are written without their module path (`Result`,
`EntryKey`), so moving an item between private modules changes nothing.
"""

import json
import sys

SUPPORTED_FORMATS = range(45, 80)

# Written without their path: what every Rust file sees.
PRELUDE = {
    "Option", "Some", "None", "Result", "Ok", "Err", "Box", "Vec", "String",
    "Send", "Sync", "Sized", "Unpin", "Copy", "Clone", "Drop", "Default",
    "Debug", "Display", "Eq", "PartialEq", "Ord", "PartialOrd", "Hash",
    "Fn", "FnMut", "FnOnce", "AsyncFn", "AsyncFnMut", "AsyncFnOnce",
    "Future", "IntoFuture", "Iterator", "IntoIterator", "ExactSizeIterator",
    "DoubleEndedIterator", "Extend", "FromIterator", "From", "Into",
    "TryFrom", "TryInto", "AsRef", "AsMut", "ToOwned", "ToString",
    "UnwindSafe", "RefUnwindSafe",
}

# Traits that only nightly has, which rustdoc lists for every type
# (auto traits, derive markers): they would make the snapshot depend on the
# nightly that made it.
UNSTABLE_MARKERS = {"Freeze", "UnsafeUnpin", "StructuralPartialEq", "StructuralEq"}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: public-api.py CRATE.json")
    with open(sys.argv[1], encoding="utf-8") as f:
        krate = json.load(f)
    version = krate.get("format_version")
    if version not in SUPPORTED_FORMATS:
        sys.exit(
            f"rustdoc JSON format {version} is not one this script was written for "
            f"({SUPPORTED_FORMATS.start}..{SUPPORTED_FORMATS.stop}): check its output, then widen the range"
        )
    api = Api(krate)
    root = api.item(krate["root"])
    api.module(root, [root["name"]], listing=False)  # the public paths first
    api.visited.clear()
    api.module(root, [root["name"]])
    for _, _, line in sorted(api.lines):
        print(line)


class Api:
    def __init__(self, krate):
        self.index = krate["index"]
        self.paths = krate["paths"]
        self.lines = set()
        self.visited = set()
        self.owner = ""
        self.public = {}  # item id -> the path users write
        self.listing = True

    def item(self, id):
        return self.index.get(str(id))

    def emit(self, line, rank=1):
        """Adds a line, sorted under the item being listed (`self.owner`):
        the item itself (rank 0), then its fields, variants and methods
        (rank 1), then its trait impls (rank 2)."""
        self.lines.add((self.owner, rank, " ".join(line.split())))

    # Items ---------------------------------------------------------------

    def module(self, module, path, listing=True):
        self.listing = listing
        for id in module["inner"]["module"]["items"]:
            item = self.item(id)
            if item is None or item["visibility"] != "public":
                continue
            inner = item["inner"]
            if "use" in inner:
                use = inner["use"]
                target = self.item(use["id"]) if use["id"] is not None else None
                if target is None:
                    self.owner = f"{'::'.join(path)}::{use['name']}"
                    self.emit(f"pub use {'::'.join(path)}::{use['name']} = {use['source']}")
                elif use["is_glob"]:
                    self.module(target, path, listing)
                else:
                    self.named(target, path + [use["name"]])
            else:
                self.named(item, path + [item["name"]])

    def named(self, item, path):
        key = (item["id"], tuple(path))
        if key in self.visited:
            return
        self.visited.add(key)
        kind, inner = next(iter(item["inner"].items()))
        name = "::".join(path)
        self.owner = name
        if not self.listing:
            self.public.setdefault(item["id"], name)
            if kind == "module":
                self.module(item, path, listing=False)
            return
        prefix = "pub "
        if item.get("deprecation"):
            prefix = "#[deprecated] pub "
        if "non_exhaustive" in item.get("attrs", []):
            prefix = "#[non_exhaustive] " + prefix
        if kind == "module":
            self.emit(f"{prefix}mod {name}", rank=0)
            self.module(item, path)
        elif kind == "function":
            self.emit(prefix + self.function(name, inner), rank=0)
        elif kind == "struct":
            generics = inner["generics"]
            shape = inner["kind"]
            if shape == "unit":
                body = ";"
            elif "tuple" in shape:
                fields = [
                    self.ty(self.item(f)["inner"]["struct_field"]) if f is not None else "_"
                    for f in shape["tuple"]
                ]
                body = "(" + ", ".join(fields) + ")"
            else:
                body = ""
                for f in shape["plain"]["fields"]:
                    field = self.item(f)
                    if field["visibility"] == "public":
                        self.emit(f"pub {name}::{field['name']}: {self.ty(field['inner']['struct_field'])}")
                if shape["plain"].get("has_stripped_fields"):
                    body = " { .. }"
            self.emit(f"{prefix}struct {name}{self.params(generics)}{body}{self.where(generics)}", rank=0)
            self.impls(name, inner["impls"])
        elif kind == "union":
            self.emit(f"{prefix}union {name}{self.params(inner['generics'])}{self.where(inner['generics'])}", rank=0)
            self.impls(name, inner["impls"])
        elif kind == "enum":
            generics = inner["generics"]
            self.emit(f"{prefix}enum {name}{self.params(generics)}{self.where(generics)}", rank=0)
            for v in inner["variants"]:
                self.variant(name, self.item(v))
            self.impls(name, inner["impls"])
        elif kind == "trait":
            generics = inner["generics"]
            head = "unsafe trait" if inner["is_unsafe"] else "trait"
            if inner.get("is_auto"):
                head = "auto " + head
            bounds = self.bounds(inner["bounds"])
            bounds = f": {bounds}" if bounds else ""
            self.emit(f"{prefix}{head} {name}{self.params(generics)}{bounds}{self.where(generics)}", rank=0)
            for i in inner["items"]:
                self.assoc(f"{name}::", self.item(i), in_trait=True)
            for i in inner.get("implementations", []):
                self.impl(self.item(i))
            self.owner = name
        elif kind == "type_alias":
            generics = inner["generics"]
            self.emit(f"{prefix}type {name}{self.params(generics)}{self.where(generics)} = {self.ty(inner['type'])}", rank=0)
        elif kind == "constant":
            self.emit(f"{prefix}const {name}: {self.ty(inner['type'])}", rank=0)
        elif kind == "static":
            mutable = "mut " if inner.get("is_mutable") else ""
            self.emit(f"{prefix}static {mutable}{name}: {self.ty(inner['type'])}", rank=0)
        elif kind == "macro":
            self.emit(f"{prefix}macro {name}!", rank=0)
        elif kind == "proc_macro":
            macro_kind = inner["kind"]
            if macro_kind == "attr":
                self.emit(f"{prefix}attribute macro #[{name}]", rank=0)
            elif macro_kind == "derive":
                helpers = ", ".join(inner.get("helpers", []))
                self.emit(f"{prefix}derive macro {name} (helpers: {helpers})", rank=0)
            else:
                self.emit(f"{prefix}macro {name}!", rank=0)
        elif kind == "trait_alias":
            self.emit(f"{prefix}trait {name} = {self.bounds(inner['params'])}", rank=0)
        else:
            self.emit(f"{prefix}{kind} {name}", rank=0)

    def variant(self, enum, item):
        inner = item["inner"]["variant"]
        shape = inner["kind"]
        name = f"{enum}::{item['name']}"
        if shape == "plain":
            body = ""
        elif "tuple" in shape:
            fields = [
                self.ty(self.item(f)["inner"]["struct_field"]) if f is not None else "_"
                for f in shape["tuple"]
            ]
            body = "(" + ", ".join(fields) + ")"
        else:
            fields = [self.item(f) for f in shape["struct"]["fields"]]
            body = " { " + ", ".join(f"{f['name']}: {self.ty(f['inner']['struct_field'])}" for f in fields) + " }"
        if inner.get("discriminant"):
            body += f" = {inner['discriminant']['expr']}"
        self.emit(f"pub {name}{body}")

    def impls(self, name, ids):
        for id in ids:
            impl = self.item(id)
            if impl is None:
                continue
            inner = impl["inner"]["impl"]
            if inner["blanket_impl"] is not None:
                continue
            if inner["trait"] is None:
                generics = inner["generics"]
                context = f" (in impl{self.params(generics)} {self.ty(inner['for'])}{self.where(generics)})"
                for i in inner["items"]:
                    member = self.item(i)
                    if member is not None and member["visibility"] == "public":
                        self.assoc(f"{name}::", member, in_trait=False, context=context)
            else:
                self.impl(impl, name)

    def impl(self, impl, type_path=None):
        """A trait impl, listed under the public path of the type it is
        for (written out in full) or, for another crate's type, under the
        item it was reached from (`self.owner`)."""
        if impl is None:
            return
        inner = impl["inner"]["impl"]
        if inner["blanket_impl"] is not None or inner["trait"] is None:
            return
        trait_name = inner["trait"]["path"].split("::")[-1]
        if trait_name in UNSTABLE_MARKERS:
            return
        for_type = self.ty(inner["for"])
        owner = self.owner
        target = inner["for"].get("resolved_path")
        if target is not None and target.get("id") in self.public:
            owner = self.public[target["id"]]
            for_type = owner + self.args(target.get("args"))
        generics = inner["generics"]
        params = self.params(generics)
        unsafe = "unsafe " if inner["is_unsafe"] else ""
        negative = "!" if inner["is_negative"] else ""
        line = f"{unsafe}impl{params} {negative}{self.path(inner['trait'])} for {for_type}{self.where(generics)}"
        current, self.owner = self.owner, owner
        self.emit(line, rank=2)
        self.owner = current

    def assoc(self, owner, item, in_trait, context=""):
        """A member of a trait (`in_trait`: required or provided) or of an
        inherent impl (`context` names the impl: its generics and bounds)."""
        kind, inner = next(iter(item["inner"].items()))
        name = owner + item["name"]
        vis = "trait " if in_trait else "pub "
        if kind == "function":
            default = " { .. }" if in_trait and inner.get("has_body") else ""
            self.emit(vis + self.function(name, inner) + default + context)
        elif kind == "assoc_type":
            bounds = self.bounds(inner.get("bounds", []))
            bounds = f": {bounds}" if bounds else ""
            value = f" = {self.ty(inner['type'])}" if inner.get("type") else ""
            self.emit(f"{vis}type {name}{self.params(inner['generics'])}{bounds}{value}{context}")
        elif kind == "assoc_const":
            value = f" = {inner['value']}" if inner.get("value") else ""
            self.emit(f"{vis}const {name}: {self.ty(inner['type'])}{value}{context}")

    def function(self, name, inner):
        header = inner["header"]
        quals = ""
        if header.get("is_const"):
            quals += "const "
        if header.get("is_async"):
            quals += "async "
        if header.get("is_unsafe"):
            quals += "unsafe "
        abi = header.get("abi")
        if abi not in (None, "Rust"):
            quals += f'extern "{abi if isinstance(abi, str) else next(iter(abi))}" '
        sig = inner["sig"]
        args = []
        for arg_name, ty in sig["inputs"]:
            if arg_name == "self":
                args.append(self.receiver(ty))
            else:
                args.append(f"{arg_name}: {self.ty(ty)}")
        if sig.get("is_c_variadic"):
            args.append("...")
        output = f" -> {self.ty(sig['output'])}" if sig.get("output") is not None else ""
        generics = inner["generics"]
        return f"{quals}fn {name}{self.params(generics)}({', '.join(args)}){output}{self.where(generics)}"

    def receiver(self, ty):
        if ty == {"generic": "Self"}:
            return "self"
        ref = ty.get("borrowed_ref")
        if ref and ref["type"] == {"generic": "Self"}:
            lifetime = f"{ref['lifetime']} " if ref.get("lifetime") else ""
            return f"&{lifetime}{'mut ' if ref['is_mutable'] else ''}self"
        return f"self: {self.ty(ty)}"

    # Types ---------------------------------------------------------------

    def path(self, path):
        """A path in a signature: this crate's items and the prelude's by
        their name, other crates' items by their full path."""
        name = path["path"].split("::")[-1]
        summary = self.paths.get(str(path.get("id")))
        if name and summary is not None and summary["crate_id"] != 0 and name not in PRELUDE:
            name = "::".join(summary["path"])
        return name + self.args(path.get("args"))

    def args(self, args):
        if not args:
            return ""
        if "angle_bracketed" in args:
            ab = args["angle_bracketed"]
            parts = [self.arg(a) for a in ab["args"]]
            for c in ab.get("constraints", []):
                cname = c["name"] + self.args(c.get("args"))
                binding = c["binding"]
                if "equality" in binding:
                    parts.append(f"{cname} = {self.term(binding['equality'])}")
                else:
                    parts.append(f"{cname}: {self.bounds(binding['constraint'])}")
            return f"<{', '.join(parts)}>" if parts else ""
        if "parenthesized" in args:
            p = args["parenthesized"]
            inputs = ", ".join(self.ty(t) for t in p["inputs"])
            output = f" -> {self.ty(p['output'])}" if p.get("output") is not None else ""
            return f"({inputs}){output}"
        return "(..)"

    def arg(self, arg):
        if "type" in arg:
            return self.ty(arg["type"])
        if "lifetime" in arg:
            return arg["lifetime"]
        if "const" in arg:
            const = arg["const"]
            return const.get("expr") or const.get("value") or "_"
        return "_"

    def term(self, term):
        if "type" in term:
            return self.ty(term["type"])
        const = term.get("constant", {})
        return const.get("expr") or "_"

    def ty(self, ty):
        if ty is None:
            return "()"
        kind, value = next(iter(ty.items()))
        if kind == "resolved_path":
            return self.path(value)
        if kind == "generic":
            return value
        if kind == "primitive":
            return value
        if kind == "tuple":
            if len(value) == 1:
                return f"({self.ty(value[0])},)"
            return "(" + ", ".join(self.ty(t) for t in value) + ")"
        if kind == "slice":
            return f"[{self.ty(value)}]"
        if kind == "array":
            return f"[{self.ty(value['type'])}; {value['len']}]"
        if kind == "borrowed_ref":
            lifetime = f"{value['lifetime']} " if value.get("lifetime") else ""
            mutable = "mut " if value["is_mutable"] else ""
            return f"&{lifetime}{mutable}{self.ty(value['type'])}"
        if kind == "raw_pointer":
            return f"*{'mut' if value['is_mutable'] else 'const'} {self.ty(value['type'])}"
        if kind == "impl_trait":
            return f"impl {self.bounds(value)}"
        if kind == "dyn_trait":
            traits = [self.poly_trait(t) for t in value["traits"]]
            if value.get("lifetime"):
                traits.append(value["lifetime"])
            return "dyn " + " + ".join(traits)
        if kind == "qualified_path":
            self_type = self.ty(value["self_type"])
            trait = value.get("trait")
            if trait and trait.get("path"):
                base = f"<{self_type} as {self.path(trait)}>"
            else:
                base = self_type
            return f"{base}::{value['name']}{self.args(value.get('args'))}"
        if kind == "function_pointer":
            sig = value["sig"]
            inputs = ", ".join(self.ty(t) for _, t in sig["inputs"])
            output = f" -> {self.ty(sig['output'])}" if sig.get("output") is not None else ""
            hrtb = self.hrtb(value.get("generic_params", []))
            unsafe = "unsafe " if value["header"].get("is_unsafe") else ""
            return f"{hrtb}{unsafe}fn({inputs}){output}"
        if kind == "infer":
            return "_"
        if kind == "pat":
            return f"{self.ty(value['type'])} is {value.get('__pat_unstable_do_not_use', '..')}"
        return kind

    def poly_trait(self, poly):
        return self.hrtb(poly.get("generic_params", [])) + self.path(poly["trait"])

    def hrtb(self, params):
        if not params:
            return ""
        return "for<" + ", ".join(p["name"] for p in params) + "> "

    def bounds(self, bounds):
        parts = []
        for b in bounds:
            if "trait_bound" in b:
                tb = b["trait_bound"]
                modifier = {"none": "", "maybe": "?", "maybe_const": "~const "}.get(tb.get("modifier", "none"), "")
                parts.append(modifier + self.hrtb(tb.get("generic_params", [])) + self.path(tb["trait"]))
            elif "outlives" in b:
                parts.append(b["outlives"])
            elif "use" in b:
                names = [u if isinstance(u, str) else next(iter(u.values())) for u in b["use"]]
                parts.append("use<" + ", ".join(names) + ">")
        return " + ".join(parts)

    def params(self, generics):
        parts = []
        for p in generics["params"]:
            kind, value = next(iter(p["kind"].items()))
            if kind == "lifetime":
                outlives = value.get("outlives", [])
                parts.append(p["name"] + (": " + " + ".join(outlives) if outlives else ""))
            elif kind == "type":
                if value.get("is_synthetic"):
                    continue
                bounds = self.bounds(value.get("bounds", []))
                text = p["name"] + (f": {bounds}" if bounds else "")
                if value.get("default") is not None:
                    text += f" = {self.ty(value['default'])}"
                parts.append(text)
            elif kind == "const":
                text = f"const {p['name']}: {self.ty(value['type'])}"
                if value.get("default") is not None:
                    text += f" = {value['default']}"
                parts.append(text)
        return f"<{', '.join(parts)}>" if parts else ""

    def where(self, generics):
        parts = []
        for w in generics.get("where_predicates", []):
            kind, value = next(iter(w.items()))
            if kind == "bound_predicate":
                hrtb = self.hrtb(value.get("generic_params", []))
                parts.append(f"{hrtb}{self.ty(value['type'])}: {self.bounds(value['bounds'])}")
            elif kind == "lifetime_predicate":
                parts.append(f"{value['lifetime']}: {' + '.join(value['outlives'])}")
            elif kind == "eq_predicate":
                parts.append(f"{self.ty(value['lhs'])} = {self.term(value['rhs'])}")
        return f" where {', '.join(parts)}" if parts else ""


if __name__ == "__main__":
    main()
