"""`state`: the runtime-spec state document of one container."""

from runtime import state


def oci_state(cdir: state.ContainerDir, record: dict) -> dict:
    status = cdir.status(record)
    doc = {
        "ociVersion": record.get("ociVersion", ""),
        "id": record["id"],
        "pid": record["pid"] if status != "stopped" else 0,
        "status": status,
        "bundle": record.get("bundle", ""),
        "rootfs": record.get("rootfs", ""),
        "created": record.get("created", ""),
        "owner": record.get("owner", ""),
    }
    if record.get("annotations"):
        doc["annotations"] = record["annotations"]
    return doc
