"""Keras 3 layers and backbones of the pretraining toolkit (`keras.ops` only).

These names are the package's public API: the backbones `BertEncoder` and
`GptDecoder` with their named sizes `BACKBONE_SIZES`, the heads, and the
building blocks they are made of.
"""

from layers.alibi import AlibiBias
from layers.backbone_sizes import BACKBONE_SIZES
from layers.bert_embedding import BertEmbedding
from layers.bert_encoder import BertEncoder
from layers.elmo import Elmo
from layers.feed_forward import FeedForward
from layers.gpt_decoder import GptDecoder
from layers.masked_lm_head import MaskedLMHead
from layers.masked_mean_pooling import MaskedMeanPooling
from layers.multi_head_attention import MultiHeadAttention
from layers.next_sentence_head import NextSentenceHead
from layers.position_embedding import PositionEmbedding
from layers.replaced_token_detection_head import ReplacedTokenDetectionHead
from layers.replaced_token_sampler import ReplacedTokenSampler
from layers.segment_embedding import SegmentEmbedding
from layers.seq2seq_transformer import Seq2SeqTransformer
from layers.sinusoidal_position_encoding import SinusoidalPositionEncoding
from layers.token_embedding import TokenEmbedding
from layers.transformer_decoder_block import TransformerDecoderBlock
from layers.transformer_encoder_block import TransformerEncoderBlock
from layers.tied_softmax_cross_entropy import tied_softmax_cross_entropy
from layers.unilm_attention_mask import UnilmAttentionMask

__all__ = [
    "AlibiBias",
    "BACKBONE_SIZES",
    "BertEmbedding",
    "BertEncoder",
    "Elmo",
    "FeedForward",
    "GptDecoder",
    "MaskedLMHead",
    "MaskedMeanPooling",
    "MultiHeadAttention",
    "NextSentenceHead",
    "PositionEmbedding",
    "ReplacedTokenDetectionHead",
    "ReplacedTokenSampler",
    "SegmentEmbedding",
    "Seq2SeqTransformer",
    "SinusoidalPositionEncoding",
    "TokenEmbedding",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
    "UnilmAttentionMask",
    "tied_softmax_cross_entropy",
]
