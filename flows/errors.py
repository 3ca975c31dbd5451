"""Exceptions of the flow. Each says what is wrong and what to do; the CLI prints one line."""


class FlowError(Exception):
    """Base class of every error the flow reports to a user."""


class MalformedModelError(FlowError):
    """The ONNX file cannot be read or is not a valid model."""


class UnsupportedOpError(FlowError):
    """A node of the model has no lowering in this flow."""


class UnsupportedPatternError(FlowError):
    """Supported ops arranged in a way the flow cannot lower exactly."""


class NumericContractError(FlowError):
    """A value breaks docs/numerics.md (e.g. non-binary weights where binary are required)."""


class ConfigError(FlowError):
    """A layer configuration is invalid (shapes, widths)."""


class FoldingError(ConfigError):
    """A folding factor does not divide the dimension it folds."""


class UnknownModelError(FlowError):
    """MODEL names no model in the registry."""


class UnknownTargetError(FlowError):
    """TARGET names no target the flow knows."""


class ToolMissingError(FlowError):
    """An external tool (verilator, yosys, nextpnr, g++) is not installed."""


class ToolFailedError(FlowError):
    """An external tool ran and failed."""


class ResourceError(FlowError):
    """The design does not fit the target."""
