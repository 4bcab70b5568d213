"""A collection as an alias over generations, on the engines that speak qdrant-client (local mode, a server).

A rebuilt collection is an alias: `ingest --recreate` and `import --recreate`
build a new generation ('<name>.gen-<hex>') and switch the alias `<name>` to it
in one alias operation, so a kill leaves the old collection or the new one.
A collection of an earlier release (not an alias) is swapped in three steps: a
marker alias '<name>.swap' names the whole new generation, the old collection
is deleted, and one alias operation drops the marker and points `<name>` at the
new one; `settle` finishes a swap a kill cut short, when the store is opened.
"""

from __future__ import annotations

from qdrant_client import QdrantClient, models

from store.naming import generation_name, generation_of, staging_name, swap_alias, swapped


class Generations:
    """The aliases of one qdrant-client connection and the generations they point at."""

    def __init__(self, client: QdrantClient) -> None:
        self._client = client

    def aliases(self) -> dict[str, str]:
        """Every alias and the collection it points at."""
        return {a.alias_name: a.collection_name for a in self._client.get_aliases().aliases}

    def fresh(self, name: str) -> str:
        """A new generation of `name`; the ones no alias points at (a rebuild or a drop a kill cut short) are dropped."""
        live = set(self.aliases().values())
        for collection in self._client.get_collections().collections:
            leftover = generation_of(collection.name) == name or collection.name == staging_name(name)
            if leftover and collection.name not in live:
                self._client.delete_collection(collection.name)
        return generation_name(name)

    def swap(self, name: str, staging: str) -> None:
        """Point the alias `name` at `staging`, then drop the generation it pointed at. A collection `name` of
        an earlier release is deleted only after the marker alias says `staging` is whole."""
        aliases = self.aliases()
        if name not in aliases and self._client.collection_exists(name):
            self._operations([_create_alias(swap_alias(name), staging)])
            self._client.delete_collection(name)
            aliases[swap_alias(name)] = staging
        self._switch(name, staging, aliases)

    def settle(self) -> None:
        """Finish every swap a kill cut short after its marker alias was made: the new generation is whole."""
        aliases = self.aliases()
        for marker, staging in aliases.items():
            name = swapped(marker)
            if name is None:
                continue
            if name not in aliases and self._client.collection_exists(name):
                self._client.delete_collection(name)
            self._switch(name, staging, aliases)

    def unalias(self, name: str) -> str:
        """The collection behind `name`, its alias (if it is one) deleted: what dropping `name` deletes."""
        target = self.aliases().get(name)
        if target is None:
            return name
        self._operations([models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=name))])
        return target

    def _switch(self, name: str, staging: str, aliases: dict[str, str]) -> None:
        """Point `name` at `staging` (dropping the swap marker if there is one), then drop the old generation."""
        operations = []
        if swap_alias(name) in aliases:
            operations.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=swap_alias(name))))
        old = aliases.get(name)
        if old is not None:
            operations.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=name)))
        self._operations([*operations, _create_alias(name, staging)])
        if old is not None and old != staging:
            self._client.delete_collection(old)

    def _operations(self, operations: list) -> None:
        self._client.update_collection_aliases(change_aliases_operations=operations)


def _create_alias(alias: str, collection: str) -> models.CreateAliasOperation:
    return models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=collection, alias_name=alias))
