"""The channel's error: what the peer sent is not a well-formed message of the protocol."""


class ProtocolError(Exception):
    """The peer sent something that is not a well-formed message of this protocol."""
