"""Requirements of features.md (the ``features`` document)."""

from ..model import spec_section

R = spec_section("features.md")

REQUIREMENTS = [
    R(
        "features.schema",
        "Features Structure",
        "MUST",
        "features prints a document that validates against schema/features-schema.json.",
    ),
    R(
        "features.ociversion-min",
        "Specification version",
        "MUST",
        "A config whose ociVersion is ociVersionMin is accepted.",
    ),
    R(
        "features.ociversion-max",
        "Specification version",
        "MUST",
        "A config whose ociVersion is ociVersionMax is accepted.",
    ),
    R(
        "features.ociversion-order",
        "Specification version",
        "MUST",
        "ociVersionMax is not lower than ociVersionMin.",
    ),
    R(
        "features.no-unknown-properties",
        "Specification version",
        "MUST",
        "The document holds no top-level property the spec does not define.",
    ),
    R("features.hooks-supported", "Hooks", "MUST", "Every hook kind listed in hooks is run."),
    R(
        "features.mount-options-recognized",
        "Mount Options",
        "MUST",
        "Every listed mount option (other than id-mapping ones) is accepted on a tmpfs mount.",
    ),
    R(
        "features.mount-options-no-fs-data",
        "Mount Options",
        "SHOULD",
        "mountOptions lists no filesystem-specific data options (size=, mode=, ...).",
    ),
]
