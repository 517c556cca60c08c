#!/usr/bin/env python3
"""Offline validation of Kubernetes manifests against the API's models.

The models are those of Debian's python3-kubernetes (Kubernetes 1.30), generated from the API's
OpenAPI schema: each class has openapi_types (attribute -> type) and attribute_map (attribute ->
JSON key), and a setter that refuses None for each required field. They are read with ast, not
imported, so none of the package's dependencies is needed. A document is walked from its
kind/apiVersion's model down: every key must be a field of the model, every value of the field's
type (str, int, bool, float, datetime, object for free-form, dict(str, T), list[T], or a nested
model), and every required field present.

Checks, one line each, then "k8s: N passed, N failed":
  - every document of deploy/kubernetes/*.yaml and tests/golden/inject/*.out.yaml is valid;
  - `interceptor inject` of the example without its interceptor is valid, and equal to the
    example but for the policy text;
  - the example's policy passes `interceptor validate`;
  - negative cases (the example with a misspelt field, a string for an int, a list for a map, a
    required field missing, a wrong apiVersion) are refused with the expected message, so the
    check cannot pass vacuously.

usage: validate.py MODELS_DIR [--interceptor build/interceptor]
"""
import ast
import copy
import datetime
import glob
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# Kinds this project writes or injects, with their apiVersion.
KINDS = {
    "Pod": "v1",
    "ConfigMap": "v1",
    "Service": "v1",
    "Secret": "v1",
    "ServiceAccount": "v1",
    "Namespace": "v1",
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "ReplicaSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
}

# Fields typed str in the models that hold a resource.Quantity, which the API also takes as a
# number (cpu: 1).
QUANTITY_FIELDS = {
    ("V1ResourceRequirements", "limits"),
    ("V1ResourceRequirements", "requests"),
    ("V1VolumeResourceRequirements", "limits"),
    ("V1VolumeResourceRequirements", "requests"),
    ("V1EmptyDirVolumeSource", "size_limit"),
}


class Model:
    def __init__(self, name, types, attrs, required):
        self.name = name
        self.types = types  # attribute -> type string
        self.json = {v: k for k, v in attrs.items()}  # JSON key -> attribute
        self.required = required  # JSON keys


def load_models(directory):
    """Every model class of the package: name -> Model."""
    models = {}
    for path in glob.glob(os.path.join(directory, "*.py")):
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for cls in tree.body:
            if not isinstance(cls, ast.ClassDef):
                continue
            types = attrs = None
            required = []
            for node in cls.body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target = getattr(node.targets[0], "id", None)
                    if target == "openapi_types":
                        types = ast.literal_eval(node.value)
                    elif target == "attribute_map":
                        attrs = ast.literal_eval(node.value)
                elif isinstance(node, ast.FunctionDef) and is_required_setter(node):
                    required.append(node.name)
            if types is not None and attrs is not None:
                models[cls.name] = Model(cls.name, types, attrs,
                                         [attrs[a] for a in required if a in attrs])
    return models


def is_required_setter(fn):
    """A property setter that raises 'must not be `None`' when given None."""
    if not any(isinstance(d, ast.Attribute) and d.attr == "setter" for d in fn.decorator_list):
        return False
    for node in ast.walk(fn):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            for arg in node.exc.args:
                if isinstance(arg, ast.Constant) and "must not be `None`" in str(arg.value):
                    return True
    return False


class Validator:
    def __init__(self, models):
        self.models = models

    def document(self, doc):
        """The problems of one document, as 'path: message' strings."""
        if not isinstance(doc, dict):
            return ["document: not a mapping"]
        kind, version = doc.get("kind"), doc.get("apiVersion")
        if kind not in KINDS:
            return ["kind: %r is not a kind this check knows (%s)" % (kind, ", ".join(KINDS))]
        if version != KINDS[kind]:
            return ["apiVersion: %r is not the apiVersion of %s (use %s)"
                    % (version, kind, KINDS[kind])]
        errors = []
        self.value(doc, "V1" + kind, kind, None, errors)
        return errors

    def value(self, v, typ, path, owner, errors):
        if v is None:
            return  # null: the field is not set
        m = re.fullmatch(r"list\[(.+)\]", typ)
        if m:
            if not isinstance(v, list):
                errors.append("%s: %s where a list goes" % (path, kind_of(v)))
                return
            for i, item in enumerate(v):
                self.value(item, m.group(1), "%s[%d]" % (path, i), None, errors)
            return
        m = re.fullmatch(r"dict\(str, (.+)\)", typ)
        if m:
            if not isinstance(v, dict):
                errors.append("%s: %s where a map goes" % (path, kind_of(v)))
                return
            for k, item in v.items():
                if not isinstance(k, str):
                    errors.append("%s: key %r is not a string" % (path, k))
                sub = m.group(1)
                if owner in QUANTITY_FIELDS and sub == "str" and is_number(item):
                    continue
                self.value(item, sub, "%s.%s" % (path, k), None, errors)
            return
        if typ == "str":
            if not isinstance(v, str) and not (owner in QUANTITY_FIELDS and is_number(v)):
                errors.append("%s: %s where a string goes" % (path, kind_of(v)))
        elif typ == "int":
            if not isinstance(v, int) or isinstance(v, bool):
                errors.append("%s: %s where an integer goes" % (path, kind_of(v)))
        elif typ == "float":
            if not is_number(v):
                errors.append("%s: %s where a number goes" % (path, kind_of(v)))
        elif typ == "bool":
            if not isinstance(v, bool):
                errors.append("%s: %s where a boolean goes" % (path, kind_of(v)))
        elif typ in ("datetime", "date"):
            if not isinstance(v, (str, datetime.date)):
                errors.append("%s: %s where a time goes" % (path, kind_of(v)))
        elif typ == "object":
            pass  # free-form: int-or-string, raw extensions
        elif typ in self.models:
            self.model(v, self.models[typ], path, errors)
        else:
            errors.append("%s: type %s is unknown to this check" % (path, typ))

    def model(self, v, model, path, errors):
        if not isinstance(v, dict):
            errors.append("%s: %s where a %s (a map) goes" % (path, kind_of(v), model.name))
            return
        for key, item in v.items():
            attr = model.json.get(key)
            if attr is None:
                close = [k for k in model.json if k.lower() == str(key).lower()]
                errors.append("%s: unknown field %r in %s%s" % (
                    path, key, model.name, "; did you mean %r?" % close[0] if close else ""))
                continue
            self.value(item, model.types[attr], "%s.%s" % (path, key), (model.name, attr),
                       errors)
        for key in model.required:
            if v.get(key) is None:
                errors.append("%s: required field %r of %s is missing" % (path, key, model.name))


def kind_of(v):
    if isinstance(v, bool):
        return "a boolean (%s)" % v
    if isinstance(v, (int, float)):
        return "a number (%s)" % v
    if isinstance(v, str):
        return "a string (%r)" % v
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a map"
    return type(v).__name__


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Report:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, ok, name, detail=""):
        if ok:
            self.passed += 1
            print("ok   %s" % name)
        else:
            self.failed += 1
            print("FAIL %s%s" % (name, ": " + detail if detail else ""))


def load_all(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def strip_interceptor(docs):
    """The example as a user would write it before inject: no ConfigMap, container, volumes."""
    out = []
    for d in copy.deepcopy(docs):
        if d.get("kind") == "ConfigMap" and d["metadata"]["name"].endswith("-sidecap"):
            continue
        spec = d.get("spec", {}).get("template", {}).get("spec")
        if spec:
            spec["initContainers"] = [c for c in spec.get("initContainers", [])
                                      if c["name"] != "sidecap-interceptor"]
            if not spec["initContainers"]:
                del spec["initContainers"]
            spec["volumes"] = [v for v in spec.get("volumes", [])
                               if not v["name"].startswith("sidecap-")]
            if not spec["volumes"]:
                del spec["volumes"]
        out.append(d)
    return out


def without_policy(docs):
    docs = copy.deepcopy(docs)
    for d in docs:
        if d.get("kind") == "ConfigMap":
            d.get("data", {}).pop("policy.yaml", None)
    return docs


def sorted_spec(docs):
    """Documents with pod spec keys in one order, since inject appends the keys it adds."""
    return yaml.safe_dump_all(docs, sort_keys=True)


def example_pod_spec(docs):
    for d in docs:
        if d.get("kind") == "Deployment":
            return d["spec"]["template"]["spec"]
    raise LookupError("the example has no Deployment")


def container(spec, name):
    for c in spec.get("initContainers", []) + spec.get("containers", []):
        if c.get("name") == name:
            return c
    raise LookupError("no container %s" % name)


# Each negative case: a name, an edit of the example's documents, the message expected.
def neg_misspelt(docs):
    c = container(example_pod_spec(docs), "sidecap-interceptor")
    c["securityContext"]["readOnlyRootFileSystem"] = c["securityContext"].pop(
        "readOnlyRootFilesystem")


def neg_string_for_int(docs):
    container(example_pod_spec(docs), "sidecap-interceptor")["startupProbe"]["periodSeconds"] = "1"


def neg_list_for_map(docs):
    for d in docs:
        if d["kind"] == "ConfigMap":
            d["data"] = [{"policy.yaml": d["data"]["policy.yaml"]}]


def neg_bool_for_string(docs):
    for d in docs:
        if d["kind"] == "ConfigMap":
            d["data"]["debug"] = False  # what an unquoted "no" becomes


def neg_missing_required(docs):
    del container(example_pod_spec(docs), "app")["name"]


def neg_unknown_volume_source(docs):
    example_pod_spec(docs)["volumes"][1]["hostpath"] = example_pod_spec(docs)["volumes"][1].pop(
        "hostPath")


def neg_wrong_api_version(docs):
    for d in docs:
        if d["kind"] == "Deployment":
            d["apiVersion"] = "v1"


NEGATIVES = [
    ("misspelt field securityContext.readOnlyRootFileSystem", neg_misspelt,
     "unknown field 'readOnlyRootFileSystem' in V1SecurityContext; "
     "did you mean 'readOnlyRootFilesystem'?"),
    ("string where an int goes (startupProbe.periodSeconds: \"1\")", neg_string_for_int,
     "startupProbe.periodSeconds: a string ('1') where an integer goes"),
    ("list where a map goes (ConfigMap data)", neg_list_for_map,
     "ConfigMap.data: a list where a map goes"),
    ("boolean where a string goes (ConfigMap data value no)", neg_bool_for_string,
     "ConfigMap.data.debug: a boolean (False) where a string goes"),
    ("required field missing (a container's name)", neg_missing_required,
     "required field 'name' of V1Container is missing"),
    ("misspelt volume source hostpath", neg_unknown_volume_source,
     "unknown field 'hostpath' in V1Volume; did you mean 'hostPath'?"),
    ("Deployment with apiVersion v1", neg_wrong_api_version,
     "apiVersion: 'v1' is not the apiVersion of Deployment (use apps/v1)"),
]


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    interceptor = os.path.join(ROOT, "build", "interceptor")
    if "--interceptor" in argv:
        interceptor = argv[argv.index("--interceptor") + 1]
    models = load_models(argv[1])
    v = Validator(models)
    r = Report()
    r.check(len(models) > 500 and "V1Container" in models and
            "restart_policy" in models["V1Container"].types,
            "models loaded (%d classes; V1Container has restartPolicy)" % len(models))

    files = sorted(glob.glob(os.path.join(ROOT, "deploy", "kubernetes", "*.yaml")))
    files += sorted(glob.glob(os.path.join(ROOT, "tests", "golden", "inject", "*.out.yaml")))
    r.check(len(files) > 1, "manifests found (%d files)" % len(files))
    for path in files:
        docs = load_all(path)
        errors = [e for d in docs for e in v.document(d)]
        r.check(docs and not errors, "valid: %s (%d documents)" % (os.path.relpath(path, ROOT),
                                                                   len(docs)),
                "; ".join(errors))

    example_path = os.path.join(ROOT, "deploy", "kubernetes", "sidecap-example.yaml")
    example = load_all(example_path)

    # inject on the example as written before injection gives the example back.
    plain = yaml.safe_dump_all(strip_interceptor(example), sort_keys=False)
    run = subprocess.run([interceptor, "inject"], input=plain, capture_output=True, text=True)
    r.check(run.returncode == 0, "interceptor inject of the example's app and proxy succeeds",
            run.stderr.strip())
    if run.returncode == 0:
        injected = [d for d in yaml.safe_load_all(run.stdout) if d is not None]
        errors = [e for d in injected for e in v.document(d)]
        r.check(not errors, "valid: interceptor inject output (%d documents)" % len(injected),
                "; ".join(errors))
        same = sorted_spec(without_policy(injected)) == sorted_spec(without_policy(example))
        r.check(same, "interceptor inject output equals the example but for the policy text",
                "diff them: interceptor inject < (example less the interceptor)")

    # The example's policy is a valid sidecap config.
    policy = [d for d in example if d["kind"] == "ConfigMap"][0]["data"]["policy.yaml"]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        # No cgroup key in the ConfigMap: the interceptor finds the pod's; one is put in front so
        # that validate accepts the file whether or not it requires the key.
        f.write("cgroup: /sys/fs/cgroup/sidecap-test\n" + policy)
    run = subprocess.run([interceptor, "validate", f.name], capture_output=True, text=True)
    os.unlink(f.name)
    r.check(run.returncode == 0, "the example's policy passes interceptor validate",
            (run.stdout + run.stderr).strip())

    for name, edit, expect in NEGATIVES:
        docs = copy.deepcopy(example)
        try:
            edit(docs)
        except (LookupError, TypeError) as e:
            r.check(False, "refused: %s" % name, "the example has no place for it: %r" % e)
            continue
        errors = [e for d in docs for e in v.document(d)]
        r.check(any(expect in e for e in errors), "refused: %s" % name,
                "expected %r, got %s" % (expect, errors or "no error"))

    print("k8s: %d passed, %d failed" % (r.passed, r.failed))
    return 0 if r.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
