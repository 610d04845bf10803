"""What a process builds as it starts lives as long as the process: kept out of the
garbage collector's sight, a full collection walks only what came after."""

import gc


def freeze_start_up_objects() -> None:
    """Free the start's garbage, then freeze what is left (gc.freeze). In a started API
    process, ~200,000 objects: a full collection walked them all, 0.2 s under load,
    stalling every request in flight."""
    gc.collect()
    gc.freeze()
