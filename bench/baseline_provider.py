"""The benchmarks' baseline: a dynamic resource that does nothing (pickled by reference)."""

from __future__ import annotations

from typing import Any

from pulumi import dynamic


class NothingProvider(dynamic.ResourceProvider):
    """Creates nothing anywhere; records its inputs."""

    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        return dynamic.CreateResult(str(props["index"]), props)


class Nothing(dynamic.Resource, module="bench", name="Nothing"):
    """One do-nothing resource."""

    def __init__(self, name: str, index: int) -> None:
        super().__init__(NothingProvider(), name, {"index": index})
