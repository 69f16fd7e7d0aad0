"""Transformer text classifiers: a pretrained encoder, mean pooling and a linear head, with their tokenizer.

:class:`SentenceClassifier` is what every torch text family trains, exports and serves: the encoder
(any Hugging Face ``AutoModel``, e.g. all-MiniLM-L6-v2), attention-masked mean pooling (how
sentence-transformers pools), optional L2 normalisation, dropout and a linear head. ``frozen`` mode
learns only the head (logistic regression on the embeddings); ``finetune`` mode trains everything,
starting from that head. A *student* may keep fewer layers (every k-th, as DistilBERT did) and a pruned
vocabulary: only the word pieces its training and unlabelled texts use, renumbered in the
tokenizer.json that is saved with it — WordPiece's greedy longest match tokenises those texts exactly as
before, so a 22.7M-parameter encoder becomes a few million parameters.

The tokenizer is one ``tokenizer.json`` (Hugging Face ``tokenizers``): training, the conversion's parity
check, the Triton tokenizer model and the local server all read that same file.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..common.runner import JobError
from .weights import DEFAULT_TEXT_ENCODER, resolve_weights

TOKENIZER_FILE = "tokenizer.json"
ENCODER_CONFIG_FILE = "encoder-config.json"
WEIGHTS_FILE = "model.safetensors"
CLASSIFIER_FILE = "classifier.json"
EMBED_BATCH = 64
_EMBEDDING_CACHE_LIMIT = 50_000


def _torch() -> Any:
    import torch

    return torch


def load_tokenizer(source: str, max_length: int) -> Any:
    """A ``tokenizers.Tokenizer`` from a model folder's tokenizer.json (or its fast tokenizer), with
    truncation at ``max_length`` tokens and no padding (batches are padded to their longest row)."""
    from tokenizers import Tokenizer

    path = Path(source)
    if (path / TOKENIZER_FILE).is_file():
        tokenizer = Tokenizer.from_file(str(path / TOKENIZER_FILE))
    elif path.is_file() and path.name.endswith(".json"):
        tokenizer = Tokenizer.from_file(str(path))
    else:
        from transformers import AutoTokenizer

        fast = AutoTokenizer.from_pretrained(source, use_fast=True)
        if not getattr(fast, "is_fast", False):
            raise JobError(f"{source} has no fast tokenizer (tokenizer.json); it cannot be served the same way")
        tokenizer = fast.backend_tokenizer
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def encode(tokenizer: Any, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``input_ids`` and ``attention_mask`` (int64, ``[N, longest]``), padded with the tokenizer's pad id."""
    encodings = tokenizer.encode_batch(list(texts))
    longest = max((len(e.ids) for e in encodings), default=1)
    pad = pad_id(tokenizer)
    ids = np.full((len(encodings), max(1, longest)), pad, dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, e in enumerate(encodings):
        ids[i, : len(e.ids)] = e.ids
        mask[i, : len(e.ids)] = 1
    return ids, mask


def pad_id(tokenizer: Any) -> int:
    """The id of ``[PAD]`` (or ``<pad>``), 0 when the vocabulary has neither."""
    for token in ("[PAD]", "<pad>"):
        found = tokenizer.token_to_id(token)
        if found is not None:
            return int(found)
    return 0


def build_encoder(source: str, layers: int | None) -> Any:
    """The pretrained encoder (no pooler), keeping ``layers`` evenly spaced layers when asked."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(source)
    extra = {"add_pooling_layer": False} if config.model_type == "bert" else {}
    encoder = AutoModel.from_pretrained(source, **extra)
    total = int(getattr(encoder.config, "num_hidden_layers", 0) or 0)
    if layers and 0 < layers < total:
        keep_layers(encoder, [round(i * (total - 1) / max(1, layers - 1)) for i in range(layers)] if layers > 1 else [total - 1])
    return encoder


def keep_layers(encoder: Any, indices: list[int]) -> None:
    """Keep only the transformer layers at ``indices`` (BERT-style ``encoder.layer`` stacks)."""
    torch = _torch()
    stack = getattr(getattr(encoder, "encoder", None), "layer", None)
    if stack is None:
        raise JobError(f"cannot drop layers of a {encoder.config.model_type} encoder (no encoder.layer stack)")
    encoder.encoder.layer = torch.nn.ModuleList([stack[i] for i in indices])
    encoder.config.num_hidden_layers = len(indices)


@dataclass(frozen=True)
class PrunedVocabulary:
    """A tokenizer.json rewritten to the kept word pieces, and the old ids in their new order."""

    tokenizer_json: dict[str, Any]
    kept_ids: list[int]


def prune_vocabulary(tokenizer: Any, texts: Sequence[str]) -> PrunedVocabulary:
    """Keep the special tokens, single ASCII characters and every piece ``texts`` use; renumber them in
    their old order.

    Only WordPiece vocabularies are pruned (greedy longest match makes the tokenisation of those texts
    identical after pruning; BPE merges would break)."""
    raw = json.loads(tokenizer.to_str())
    model = raw.get("model", {})
    if model.get("type") != "WordPiece":
        raise JobError(f"vocabulary pruning needs a WordPiece tokenizer, not {model.get('type')}")
    used: set[int] = {int(t["id"]) for t in raw.get("added_tokens", [])}
    unk = model.get("unk_token")
    if unk in model["vocab"]:
        used.add(int(model["vocab"][unk]))
    # Every printable ASCII character, alone and as a continuation: a word the texts never used is then
    # spelt out in pieces instead of becoming [UNK] whole.
    prefix = model.get("continuing_subword_prefix", "##")
    for code in range(33, 127):
        for piece in (chr(code), prefix + chr(code)):
            if piece in model["vocab"]:
                used.add(int(model["vocab"][piece]))
    for start in range(0, len(texts), 1024):
        for encoding in tokenizer.encode_batch(list(texts[start:start + 1024])):
            used.update(encoding.ids)
    kept = sorted(used)
    remap = {old: new for new, old in enumerate(kept)}
    model["vocab"] = {token: remap[i] for token, i in model["vocab"].items() if i in remap}
    for token in raw.get("added_tokens", []):
        token["id"] = remap[int(token["id"])]
    post = raw.get("post_processor") or {}
    for special in (post.get("special_tokens") or {}).values():
        special["ids"] = [remap[int(i)] for i in special["ids"]]
    for key in ("sep", "cls"):  # BertProcessing stores [token, id] pairs
        if isinstance(post.get(key), list):
            post[key][1] = remap[int(post[key][1])]
    if raw.get("padding"):
        raw["padding"]["pad_id"] = remap.get(int(raw["padding"].get("pad_id", 0)), 0)
    return PrunedVocabulary(raw, kept)


def apply_pruned_vocabulary(encoder: Any, kept_ids: list[int]) -> None:
    """Shrink the encoder's input embedding to the kept rows (in the new order)."""
    torch = _torch()
    old = encoder.get_input_embeddings()
    index = torch.as_tensor(kept_ids, dtype=torch.long)
    new = torch.nn.Embedding(len(kept_ids), old.weight.shape[1], padding_idx=None)
    with torch.no_grad():
        new.weight.copy_(old.weight[index])
    encoder.set_input_embeddings(new)
    encoder.config.vocab_size = len(kept_ids)
    pad = getattr(encoder.config, "pad_token_id", None)
    if pad is not None and pad in kept_ids:
        encoder.config.pad_token_id = kept_ids.index(pad)


def sentence_classifier_class() -> Any:
    """The nn.Module class (built lazily so importing this module does not need torch)."""
    torch = _torch()

    class SentenceClassifier(torch.nn.Module):
        """Encoder → masked mean pooling → (L2 normalisation) → dropout → linear head → logits."""

        def __init__(self, encoder: Any, num_labels: int, normalize: bool = True, dropout: float = 0.1) -> None:
            super().__init__()
            self.encoder = encoder
            self.normalize = normalize
            self.dropout = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(int(encoder.config.hidden_size), num_labels)

        def embed(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=-1) if self.normalize else pooled

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.head(self.dropout(self.embed(input_ids, attention_mask)))

    return SentenceClassifier


@dataclass
class TextModel:
    """A classifier with the tokenizer that feeds it."""

    module: Any
    tokenizer: Any
    max_length: int

    def logits(self, texts: Sequence[str], batch: int = EMBED_BATCH, device: Any = None) -> np.ndarray:
        """Inference in batches of similar lengths (eval mode, no gradients); ``[N, classes]`` float32."""
        torch = _torch()
        self.module.eval()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.module.head.out_features), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch):
                chunk = order[start:start + batch]
                ids, mask = encode(self.tokenizer, [texts[i] for i in chunk])
                logits = self.module(torch.as_tensor(ids, device=device), torch.as_tensor(mask, device=device))
                out[chunk] = logits.float().cpu().numpy()
        return out


def new_text_model(source: str | None, num_labels: int, max_length: int, layers: int | None = None,
                   normalize: bool = True) -> TextModel:
    """A classifier on the pretrained encoder ``source`` (a weights reference, see weights.py)."""
    resolved = resolve_weights(source or DEFAULT_TEXT_ENCODER)
    encoder = build_encoder(resolved, layers)
    module = sentence_classifier_class()(encoder, num_labels, normalize=normalize)
    return TextModel(module, load_tokenizer(resolved, max_length), max_length)


def prune(model: TextModel, texts: Sequence[str]) -> int:
    """Prune the model's vocabulary to ``texts``' pieces; returns the vocabulary size kept."""
    from tokenizers import Tokenizer

    pruned = prune_vocabulary(model.tokenizer, texts)
    apply_pruned_vocabulary(model.module.encoder, pruned.kept_ids)
    tokenizer = Tokenizer.from_str(json.dumps(pruned.tokenizer_json))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=model.max_length)
    model.tokenizer = tokenizer
    return len(pruned.kept_ids)


def save_text_model(model: TextModel, directory: Path) -> dict[str, str]:
    """Write tokenizer.json, the encoder's config, the whole module's weights and the head's settings;
    returns the manifest's ``files``."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    model.tokenizer.save(str(directory / TOKENIZER_FILE))
    (directory / ENCODER_CONFIG_FILE).write_text(model.module.encoder.config.to_json_string())
    state = {k: v.detach().contiguous().cpu() for k, v in model.module.state_dict().items()}
    save_file(state, str(directory / WEIGHTS_FILE))
    (directory / CLASSIFIER_FILE).write_text(json.dumps({
        "numLabels": int(model.module.head.out_features), "normalize": bool(model.module.normalize),
        "maxLength": model.max_length}) + "\n")
    return {"tokenizer": TOKENIZER_FILE, "config": ENCODER_CONFIG_FILE, "weights": WEIGHTS_FILE,
            "classifier": CLASSIFIER_FILE}


def load_text_model(directory: str | Path) -> TextModel:
    """The inverse of :func:`save_text_model` (no pretrained weights needed: everything is in the folder)."""
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModel

    root = Path(directory)
    settings = json.loads((root / CLASSIFIER_FILE).read_text())
    config = AutoConfig.for_model(**json.loads((root / ENCODER_CONFIG_FILE).read_text()))
    extra = {"add_pooling_layer": False} if config.model_type == "bert" else {}
    encoder = AutoModel.from_config(config, **extra)
    module = sentence_classifier_class()(encoder, int(settings["numLabels"]), normalize=bool(settings["normalize"]))
    module.load_state_dict(load_file(str(root / WEIGHTS_FILE)))
    module.eval()
    return TextModel(module, load_tokenizer(str(root / TOKENIZER_FILE), int(settings["maxLength"])), int(settings["maxLength"]))


_embedding_cache: "OrderedDict[str, np.ndarray]" = OrderedDict()
_embedder: TextModel | None = None


def embed_texts(texts: Sequence[str], source: str = DEFAULT_TEXT_ENCODER, max_length: int = 128) -> np.ndarray:
    """Frozen sentence embeddings ``[N, hidden]`` (unit length) from the pretrained encoder; recently seen
    texts come from a cache (label-error detection cross-validates the same rows per view)."""
    global _embedder
    if _embedder is None:
        _embedder = new_text_model(source, 1, max_length)
    torch = _torch()
    missing = list(dict.fromkeys(t for t in texts if t not in _embedding_cache))
    order = sorted(range(len(missing)), key=lambda i: len(missing[i]))
    with torch.inference_mode():
        _embedder.module.eval()
        for start in range(0, len(order), EMBED_BATCH):
            chunk = [missing[i] for i in order[start:start + EMBED_BATCH]]
            ids, mask = encode(_embedder.tokenizer, chunk)
            vectors = _embedder.module.embed(torch.as_tensor(ids), torch.as_tensor(mask)).float().numpy()
            for text, vector in zip(chunk, vectors):
                _embedding_cache[text] = vector
    result = np.stack([_embedding_cache[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)
    while len(_embedding_cache) > _EMBEDDING_CACHE_LIMIT:
        _embedding_cache.popitem(last=False)
    return result
