"""Visual grounding with OWL-ViT (``transformers``' open-vocabulary detector): the query's box in an image.

OWL-ViT embeds the query with its text tower and every image patch with its vision tower; each patch
predicts a box and a similarity to the query. The patch most similar to the query gives the answer box.
Pretrained weights (a folder or ``hub:google/owlvit-base-patch32``, see weights.py) bring their CLIP
tokenizer and image geometry; without them a small OWL-ViT is built from a config, with a WordPiece
tokenizer made from the training queries (every word of them, plus single characters so an unseen word
is spelt out rather than lost). Either way one ``tokenizer.json`` is saved with the model and read by
training, the conversion's parity check, Triton's preprocessing model and the local server.

Images are resized (stretched) to the model's square input with Pillow, exactly as serving does
(convert/image_preprocessing.py), so a box predicted in the square maps back to the input image by
scaling x by its width and y by its height.

Fine-tuning: each image of a batch is embedded once with all its queries; a query's positives are the
patches whose centres fall in the middle of its box (the patch holding the centre at least), trained
with a sigmoid focal loss against every other patch (other products of the same frame included), and
their boxes with L1 and generalised-IoU losses, as DETR-style detectors are.
"""
from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..common.boxes import BoxRow
from ..common.runner import JobError

TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "owlvit-config.json"
WEIGHTS_FILE = "model.safetensors"
SETTINGS_FILE = "grounding.json"
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
ARCHITECTURES = ("owlvit", "owlv2")
# Share of a box (around its centre) whose patches count as positives for its query.
POSITIVE_REGION = 0.5
BOX_L1_WEIGHT = 5.0
GIOU_WEIGHT = 2.0


@dataclass(frozen=True)
class ImageSpec:
    """The model's square input and normalisation: the preprocessing.json of serving."""

    size: int
    mean: tuple[float, ...] = CLIP_MEAN
    std: tuple[float, ...] = CLIP_STD

    def preprocessing(self) -> dict[str, Any]:
        return {"kind": "image", "height": self.size, "width": self.size, "channels": 3, "mean": list(self.mean),
                "std": list(self.std), "scale": 1 / 255, "layout": "chw"}


@dataclass
class GroundingModel:
    """An OWL-ViT detector with its tokenizer and image geometry."""

    module: Any
    tokenizer: Any
    image: ImageSpec
    max_length: int
    architecture: str = "owlvit"

    @property
    def grid(self) -> int:
        """Patches per side."""
        vision = self.module.config.vision_config
        return int(vision.image_size) // int(vision.patch_size)


def _classes(architecture: str) -> tuple[Any, Any]:
    if architecture == "owlv2":
        from transformers import Owlv2Config, Owlv2ForObjectDetection

        return Owlv2Config, Owlv2ForObjectDetection
    if architecture == "owlvit":
        from transformers import OwlViTConfig, OwlViTForObjectDetection

        return OwlViTConfig, OwlViTForObjectDetection
    raise JobError(f"unknown grounding architecture {architecture!r}; known: {list(ARCHITECTURES)}")


def query_tokenizer(queries: Sequence[str], max_length: int) -> Any:
    """A WordPiece tokenizer.json for a from-config model: [PAD] 0, [UNK] 1, [CLS] 2, the queries' words
    and single characters (alone and as ``##`` continuations), [SEP] last. OWL-ViT's text tower pools the
    token with the highest id, so the end token [SEP] has the highest id; a query starts with [CLS] (not
    0: OWL-ViT treats a query whose first id is 0 as padding)."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    words: dict[str, None] = {}
    for query in queries:
        for word in pre_tokenizers.BertPreTokenizer().pre_tokenize_str(query.lower()):
            words[word[0]] = None
    chars = string.ascii_lowercase + string.digits
    pieces = list(words) + [c for c in chars if c not in words] + [f"##{c}" for c in chars]
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, **{p: i + 3 for i, p in enumerate(pieces)}}
    vocab["[SEP]"] = len(vocab)
    tokenizer = Tokenizer(WordPiece(vocab, unk_token="[UNK]", continuing_subword_prefix="##", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", vocab["[SEP]"])])
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def small_config(architecture: str, vocab_size: int, h: dict[str, Any]) -> Any:
    """A small OWL-ViT built from a config (no weights): sizes from the hyperparameters."""
    config_class, _ = _classes(architecture)
    width = int(h.get("width", 128))
    text_width = int(h.get("textWidth", 64))
    return config_class(
        text_config={"vocab_size": vocab_size, "hidden_size": text_width, "intermediate_size": 2 * text_width,
                     "num_hidden_layers": int(h.get("textLayers", 2)), "num_attention_heads": max(1, text_width // 32),
                     "max_position_embeddings": int(h.get("maxLength", 16)), "pad_token_id": 0, "bos_token_id": 2,
                     "eos_token_id": vocab_size - 1},
        vision_config={"hidden_size": width, "intermediate_size": 2 * width, "num_hidden_layers": int(h.get("layers", 4)),
                       "num_attention_heads": max(1, width // 32), "image_size": int(h.get("imageSize", 128)),
                       "patch_size": int(h.get("patchSize", 16))},
        projection_dim=int(h.get("projectionDim", 64)),
    )


def new_grounding_model(h: dict[str, Any], queries: Sequence[str]) -> GroundingModel:
    """Pretrained OWL-ViT when ``pretrained`` names weights (a folder, a package or ``hub:<id>``), else a
    small one from a config with a tokenizer made from ``queries``."""
    architecture = str(h.get("architecture", "owlvit"))
    _, model_class = _classes(architecture)
    reference = h.get("pretrained")
    if reference:
        from .text_encoder import load_tokenizer
        from .weights import resolve_weights

        resolved = resolve_weights(str(reference))
        module = model_class.from_pretrained(resolved)
        max_length = int(module.config.text_config.max_position_embeddings)
        mean, std = CLIP_MEAN, CLIP_STD
        processor = Path(resolved) / "preprocessor_config.json"
        if processor.is_file():
            raw = json.loads(processor.read_text())
            mean, std = tuple(raw.get("image_mean", mean)), tuple(raw.get("image_std", std))
        return GroundingModel(module, load_tokenizer(resolved, max_length), ImageSpec(int(module.config.vision_config.image_size), mean, std),
                              max_length, architecture)
    max_length = int(h.get("maxLength", 16))
    tokenizer = query_tokenizer(queries, max_length)
    config = small_config(architecture, tokenizer.get_vocab_size(), {**h, "maxLength": max_length})
    module = model_class(config)
    init_heads(module)
    return GroundingModel(module, tokenizer, ImageSpec(int(config.vision_config.image_size)), max_length, architecture)


def init_heads(module: Any) -> None:
    """Small initial weights for the class and box heads of a model built from a config (transformers leaves
    them at a standard deviation of 1, which saturates the box sigmoid), and a zero last box layer, so every
    patch starts by predicting its own cell (OWL-ViT's box bias) and learns from there."""
    import torch

    with torch.no_grad():
        for head in (module.class_head, module.box_head):
            for layer in head.modules():
                if isinstance(layer, torch.nn.Linear):
                    layer.weight.normal_(0.0, 0.02)
                    if layer.bias is not None:
                        layer.bias.zero_()
        module.box_head.dense2.weight.zero_()


def encode_queries(tokenizer: Any, queries: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``input_ids`` and ``attention_mask`` ``[N, longest]`` (int64), padded with 0."""
    from .text_encoder import encode

    return encode(tokenizer, list(queries))


def pixels_of(paths: Sequence[str], spec: ImageSpec, cache: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """``[N, 3, S, S]`` float32, preprocessed as serving does; ``cache`` keeps decoded images by path."""
    from ..convert.image_preprocessing import preprocess

    out = []
    for path in paths:
        if cache is not None and path in cache:
            out.append(cache[path])
            continue
        x = preprocess(Path(path).read_bytes(), spec.preprocessing())
        if cache is not None:
            cache[path] = x
        out.append(x)
    return np.stack(out).astype(np.float32)


def normalised_box(row: BoxRow) -> np.ndarray:
    """The row's box as (cx, cy, w, h) in [0, 1] of its image."""
    x1, y1, x2, y2 = row.box
    return np.asarray([(x1 + x2) / 2 / row.width, (y1 + y2) / 2 / row.height, (x2 - x1) / row.width, (y2 - y1) / row.height],
                      dtype=np.float32)


def patch_centres(grid: int) -> np.ndarray:
    """``[grid * grid, 2]`` (x, y) centres of the patches in [0, 1], row-major as OWL-ViT orders them."""
    y, x = np.meshgrid((np.arange(grid) + 0.5) / grid, (np.arange(grid) + 0.5) / grid, indexing="ij")
    return np.stack([x.reshape(-1), y.reshape(-1)], axis=1).astype(np.float32)


def positive_patches(box: np.ndarray, grid: int) -> np.ndarray:
    """Patches whose centres fall in the middle POSITIVE_REGION of the (cx, cy, w, h) box, and always the
    patch that holds its centre."""
    centres = patch_centres(grid)
    half = box[2:] * POSITIVE_REGION / 2
    inside = np.all(np.abs(centres - box[:2]) <= half, axis=1)
    cx = min(grid - 1, int(box[0] * grid))
    cy = min(grid - 1, int(box[1] * grid))
    inside[cy * grid + cx] = True
    return inside


def grounding_loss(logits: Any, boxes: Any, targets: Sequence[tuple[np.ndarray, np.ndarray]]) -> Any:
    """Focal loss over patches for each query plus L1 and GIoU losses of the positive patches' boxes.

    ``logits`` ``[B, P, Q]``, ``boxes`` ``[B, P, 4]`` (cx, cy, w, h); ``targets[b]`` = (``[Q_b, 4]`` boxes,
    ``[Q_b, P]`` positive masks) for the image's first Q_b queries; its other queries are padding (left
    out). A query whose mask is all zero is a product absent from the image: every patch is a negative."""
    import torch
    from torchvision.ops import generalized_box_iou_loss, sigmoid_focal_loss
    from torchvision.ops.boxes import box_convert

    b, p, q = logits.shape
    masks = np.zeros((b, q, p), dtype=np.float32)
    target_boxes = np.zeros((b, q, 4), dtype=np.float32)
    valid = np.zeros((b, q), dtype=bool)
    for i, (tb, tm) in enumerate(targets):
        masks[i, : len(tm)] = tm
        target_boxes[i, : len(tb)] = tb
        valid[i, : len(tm)] = True
    device = logits.device
    mask = torch.as_tensor(masks, device=device)
    keep = torch.as_tensor(valid, device=device)
    focal = sigmoid_focal_loss(logits.float().transpose(1, 2), mask, reduction="none")  # [B, Q, P]
    classification = (focal * keep[..., None]).sum()
    image, query, patch = torch.nonzero(mask > 0, as_tuple=True)
    positives = int(image.numel())
    if positives == 0:
        return classification
    predicted = boxes[image, patch].float()
    truth = torch.as_tensor(target_boxes, device=device)[image, query]
    l1 = (predicted - truth).abs().sum()
    giou = generalized_box_iou_loss(box_convert(predicted, "cxcywh", "xyxy"), box_convert(truth, "cxcywh", "xyxy"), reduction="sum")
    return (classification + BOX_L1_WEIGHT * l1 + GIOU_WEIGHT * giou) / positives


def forward_images(model: GroundingModel, pixels: Any, ids: Any, mask: Any) -> tuple[Any, Any]:
    """``logits`` ``[B, P, Q]`` and boxes ``[B, P, 4]`` for B images with Q queries each (``ids`` ``[B*Q, L]``)."""
    out = model.module(input_ids=ids, pixel_values=pixels, attention_mask=mask)
    return out.logits, out.pred_boxes


def answer_boxes(logits: Any, boxes: Any, sizes: Any) -> tuple[Any, Any]:
    """One query per image: the most similar patch's box in the input image's pixels (x1, y1, x2, y2) and
    its score (sigmoid of the similarity). What the exported graph computes too."""
    import torch

    scores = logits[..., 0]
    best = scores.argmax(dim=-1)
    box = torch.gather(boxes, 1, best[:, None, None].expand(-1, 1, 4))[:, 0]
    cx, cy, w, h = box.unbind(-1)
    width, height = sizes[:, 0], sizes[:, 1]
    corners = torch.stack([(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height], dim=-1)
    return corners, torch.sigmoid(scores.max(dim=-1).values)


def predict_rows(model: GroundingModel, rows: Sequence[BoxRow], device: Any = None, batch: int = 32,
                 cache: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``[N, 4]`` boxes (pixels of each row's image) and ``[N]`` scores for grounding rows."""
    import torch

    model.module.eval()
    boxes_out, scores_out = [], []
    with torch.inference_mode():
        for start in range(0, len(rows), batch):
            chunk = rows[start:start + batch]
            pixels = torch.as_tensor(pixels_of([r.image for r in chunk], model.image, cache), device=device)
            ids, mask = encode_queries(model.tokenizer, [r.query or "" for r in chunk])
            sizes = torch.as_tensor([[r.width, r.height] for r in chunk], dtype=torch.float32, device=device)
            logits, boxes = forward_images(model, pixels, torch.as_tensor(ids, device=device), torch.as_tensor(mask, device=device))
            corners, scores = answer_boxes(logits, boxes, sizes)
            boxes_out.append(corners.float().cpu().numpy())
            scores_out.append(scores.float().cpu().numpy())
    if not boxes_out:
        return np.zeros((0, 4), dtype=np.float32), np.zeros((0,), dtype=np.float32)
    return np.concatenate(boxes_out), np.concatenate(scores_out)


def save_grounding_model(model: GroundingModel, directory: Path) -> dict[str, str]:
    """Config, weights, tokenizer.json and the settings (architecture, image geometry, token budget)."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE).write_text(model.module.config.to_json_string())
    save_file({k: v.detach().contiguous().cpu() for k, v in model.module.state_dict().items()}, str(directory / WEIGHTS_FILE))
    model.tokenizer.save(str(directory / TOKENIZER_FILE))
    (directory / SETTINGS_FILE).write_text(json.dumps({
        "architecture": model.architecture, "maxLength": model.max_length, "imageSize": model.image.size,
        "mean": list(model.image.mean), "std": list(model.image.std)}, indent=2) + "\n")
    return {"config": CONFIG_FILE, "weights": WEIGHTS_FILE, "tokenizer": TOKENIZER_FILE, "settings": SETTINGS_FILE}


def load_grounding_model(directory: str | Path) -> GroundingModel:
    """The inverse of :func:`save_grounding_model` (no pretrained weights needed), in eval mode."""
    from safetensors.torch import load_file

    from .text_encoder import load_tokenizer

    root = Path(directory)
    settings = json.loads((root / SETTINGS_FILE).read_text())
    config_class, model_class = _classes(str(settings["architecture"]))
    config = config_class.from_dict(json.loads((root / CONFIG_FILE).read_text()))
    module = model_class(config)
    module.load_state_dict(load_file(str(root / WEIGHTS_FILE)))
    module.eval()
    image = ImageSpec(int(settings["imageSize"]), tuple(settings["mean"]), tuple(settings["std"]))
    return GroundingModel(module, load_tokenizer(str(root / TOKENIZER_FILE), int(settings["maxLength"])), image,
                          int(settings["maxLength"]), str(settings["architecture"]))
