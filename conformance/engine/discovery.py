"""Route discovery: every WebSocket route of a Starlette or FastAPI app, with what a client
must send to reach it.

Routers included with `include_router` are already flat in FastAPI's route list; mounted
sub-apps are walked with their path prefix. For FastAPI routes the query, header and cookie
parameters come from the route's dependency tree (its own and its dependencies' declarations).
"""

from __future__ import annotations

import enum
import typing
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any


class Location(str, enum.Enum):
    PATH = "path"
    QUERY = "query"
    HEADER = "header"
    COOKIE = "cookie"


@dataclass(frozen=True)
class Parameter:
    # The name on the wire (a FastAPI alias, a header's hyphenated name).
    name: str
    location: Location
    # "str", "int", "float", "uuid", "path" or "bool"; anything else is generated as text.
    type: str
    required: bool = True

    def describe(self) -> str:
        optional = "" if self.required else "?"
        return f"{self.location.value}:{self.name}{optional}: {self.type}"


@dataclass(frozen=True)
class WebSocketEndpoint:
    # The full path template, prefixes of mounts included, e.g. "/shop/rooms/{room_id:int}".
    path: str
    name: str
    parameters: tuple[Parameter, ...]
    # Names of the FastAPI dependencies (of the route, its router and their own dependencies).
    dependencies: tuple[str, ...] = ()
    framework: str = "starlette"
    # The route's own code (its function, or its WebSocketEndpoint class): where the generic
    # checks read which message shapes it expects. Not part of what the route is.
    handler: Any = field(default=None, compare=False, repr=False)

    def parameters_at(self, location: Location) -> list[Parameter]:
        return [p for p in self.parameters if p.location is location]

    def describe(self) -> str:
        line = f"{self.path}  [{self.framework}: {self.name}]"
        details = [p.describe() for p in self.parameters]
        if self.dependencies:
            details.append("depends on " + ", ".join(self.dependencies))
        return line + "".join(f"\n    {detail}" for detail in details)


# Starlette's convertors by class name; a custom convertor is generated as text.
_CONVERTOR_TYPES = {
    "StringConvertor": "str",
    "PathConvertor": "path",
    "IntegerConvertor": "int",
    "FloatConvertor": "float",
    "UUIDConvertor": "uuid",
}
_PYTHON_TYPES = {str: "str", int: "int", float: "float", bool: "bool", uuid.UUID: "uuid"}


def discover(app: Any) -> list[WebSocketEndpoint]:
    """Every WebSocket route of `app` (a Starlette or FastAPI app, or a Router), in order."""
    routes = getattr(app, "routes", None)
    if routes is None:
        raise TypeError(
            f"{type(app).__name__} has no routes: --app must name a Starlette or FastAPI app"
        )
    return list(_walk(routes, prefix="", inherited={}))


def _walk(
    routes: Sequence[Any], prefix: str, inherited: dict[str, Parameter]
) -> Iterator[WebSocketEndpoint]:
    from starlette.routing import Mount, WebSocketRoute

    for route in routes:
        if callable(getattr(route, "effective_candidates", None)):
            # FastAPI >= 0.160 keeps an included router as one lazy entry; its candidates carry
            # the routes as served (prefix and router dependencies applied), or nested routers.
            candidates = route.effective_candidates()
            served = [getattr(c, "starlette_route", None) or c for c in candidates]
            yield from _walk(served, prefix, inherited)
        elif isinstance(route, Mount):
            mounted = {**inherited, **_path_parameters(route)}
            yield from _walk(route.routes, prefix + route.path, mounted)
        elif isinstance(route, WebSocketRoute):
            yield _endpoint(route, prefix, inherited)


def _path_parameters(route: Any) -> dict[str, Parameter]:
    # Only those in the route's own template: a Mount also has the `{path:path}` it adds to
    # match what lies below it.
    return {
        name: Parameter(name, Location.PATH, _CONVERTOR_TYPES.get(type(convertor).__name__, "str"))
        for name, convertor in getattr(route, "param_convertors", {}).items()
        if "{" + name in route.path
    }


def _endpoint(route: Any, prefix: str, inherited: dict[str, Parameter]) -> WebSocketEndpoint:
    parameters = {**inherited, **_path_parameters(route)}
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return WebSocketEndpoint(
            prefix + route.path,
            route.name,
            tuple(parameters.values()),
            handler=getattr(route, "endpoint", None),
        )
    declared: list[Parameter] = []
    dependencies: list[str] = []
    for node in _dependants(dependant):
        if node is not dependant and node.call is not None:
            dependencies.append(getattr(node.call, "__name__", type(node.call).__name__))
        for location, fields in (
            (Location.PATH, node.path_params),
            (Location.QUERY, node.query_params),
            (Location.HEADER, node.header_params),
            (Location.COOKIE, node.cookie_params),
        ):
            declared.extend(_fastapi_parameter(field, location) for field in fields)
    for parameter in declared:
        if parameter.location is Location.PATH:
            # The convertor decides what matches; FastAPI's annotation what validates.
            convertor = parameters.get(parameter.name)
            if convertor is None or convertor.type == "str":
                parameters[parameter.name] = parameter
        else:
            parameters.setdefault(f"{parameter.location.value}:{parameter.name}", parameter)
    return WebSocketEndpoint(
        prefix + route.path,
        route.name,
        tuple(parameters.values()),
        tuple(dict.fromkeys(dependencies)),
        framework="fastapi",
        handler=getattr(route, "endpoint", None),
    )


def _dependants(dependant: Any) -> Iterator[Any]:
    yield dependant
    for child in dependant.dependencies:
        yield from _dependants(child)


def _fastapi_parameter(field: Any, location: Location) -> Parameter:
    """A FastAPI `ModelField` (pydantic 1 or 2 flavour) as a parameter."""
    info = getattr(field, "field_info", None)
    annotation = getattr(field, "type_", None) or getattr(info, "annotation", None)
    name = getattr(field, "alias", None) or field.name
    if location is Location.HEADER and getattr(info, "convert_underscores", True):
        name = name.replace("_", "-")
    required = getattr(field, "required", None)
    if not isinstance(required, bool):
        is_required = getattr(info, "is_required", None)
        required = bool(is_required()) if callable(is_required) else True
    return Parameter(name, location, _type_name(annotation), required)


def _type_name(annotation: Any) -> str:
    """`int` -> "int"; `Optional[int]` and `int | None` -> "int"; anything else -> "str"."""
    if annotation in _PYTHON_TYPES:
        return _PYTHON_TYPES[annotation]
    members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return _type_name(members[0]) if len(members) == 1 else "str"


def describe_routes(endpoints: Sequence[WebSocketEndpoint]) -> str:
    if not endpoints:
        return "no WebSocket routes found"
    return "\n".join(endpoint.describe() for endpoint in endpoints)


def serves(endpoints: Sequence[WebSocketEndpoint], target: str) -> bool:
    """Does one of the routes match `target` (a path, with or without a query string)?"""
    from starlette.routing import compile_path

    path = target.partition("?")[0]
    return any(compile_path(e.path)[0].match(path) for e in endpoints)
