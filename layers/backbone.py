"""The base of our functional backbones: named sizes and config from the constructor arguments."""

import keras

from layers.backbone_sizes import backbone_size


class Backbone(keras.Model):
    """A functional model whose config is its constructor arguments.

    Subclasses build their graph in `__init__`, store every constructor
    argument under its own name and list those names in `CONFIG_ARGUMENTS`;
    `get_config`, `from_config` and `from_size` follow from that.
    """

    CONFIG_ARGUMENTS = ()

    @classmethod
    def from_size(cls, name, vocabulary_size, **overrides):
        """A model of the named size (`layers.BACKBONE_SIZES`), with overrides."""
        return cls(vocabulary_size=vocabulary_size, **{**backbone_size(name), **overrides})

    def get_config(self):
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
        }
        config.update({argument: getattr(self, argument) for argument in self.CONFIG_ARGUMENTS})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)
