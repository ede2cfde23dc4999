#!/usr/bin/env python3
"""Checks that a Recur classifier or tagger exported with `recur export-torch` loads into PyTorch with no conversion
code and computes what Recur computes.

For each model it runs `recur export-torch`, builds the module the exported JSON describes (see
PyTorchTaskExport in Sources/RecurModels/TaskModel+PyTorch.swift), loads the state_dict with
`load_state_dict(load_file(...), strict=True)`, and in float64:
- classifier: the mean cross-entropy (binary, summed over labels, for a multi-label one) over a labelled TSV file against `recur eval --json`'s loss, and every
  class probability of each text against `recur classify --json`'s;
- tagger: the mean CRF negative log-likelihood (or cross-entropy) per token over a CoNLL file against
  `recur eval --json`'s loss, and the decoded entities of each sentence against `recur tag --format json`'s.
It prints the differences and exits non-zero if a loss or probability differs by more than 1e-4 or any sentence's
entities differ.

    swift build -c release
    ~/venv-ref/bin/python Scripts/check_task_export.py --classifier C.recur --texts T.tsv [--multi-label M.recur --multi-label-texts M.tsv] \
        --tagger T.recur --sentences S.conll

The virtual environment (outside the repository) needs torch (CPU), safetensors, pytorch-crf and seqeval. Its
output when run before landing is kept in Scripts/check_task_export.out.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import unicodedata

import torch
from safetensors.torch import load_file
from seqeval.metrics.sequence_labeling import get_entities
from torch import nn
from torchcrf import CRF

from recur_vocabulary import RECUR


def recur(*arguments):
    return subprocess.run([RECUR, *arguments], capture_output=True, text=True, check=True).stdout


def recurrent(config):
    kinds = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
    extra = {"nonlinearity": config["activation"]} if config["cell"] == "rnn" else {}
    return kinds[config["cell"]](config["input_size"], config["hidden_size"], num_layers=config["layers"],
                                 bidirectional=config["bidirectional"], **extra)


def final_states(rnn, x, lengths):
    """Each sequence's top-layer final states (both directions concatenated) and the outputs [T, B, O]."""
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
    out, state = rnn(packed)
    h = state[0] if isinstance(state, tuple) else state
    out, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=x.shape[0])
    last = torch.cat([h[-2], h[-1]], dim=1) if rnn.bidirectional else h[-1]
    return out, last


def is_word_character(c):
    category = unicodedata.category(c)
    return not (category.startswith("P") or category.startswith("S"))


def split_words(text, vocabulary):
    """The tokens of Recur's Vocabulary.split for a word vocabulary (without the end token)."""
    if vocabulary["lowercases"]:
        text = text.lower()
    words = []
    for piece in text.replace("\t", " ").split(" "):
        if not piece:
            continue
        if not vocabulary.get("splits_punctuation"):
            words.append(piece)
            continue
        word = ""
        for i, c in enumerate(piece):
            joins = c in "'’-" and 0 < i < len(piece) - 1 and is_word_character(piece[i - 1]) and is_word_character(piece[i + 1])
            if is_word_character(c) or joins:
                word += c
            else:
                if word:
                    words.append(word)
                    word = ""
                words.append(c)
        if word:
            words.append(word)
    return words


class Classifier(nn.Module):
    def __init__(self, config):
        super().__init__()
        if config.get("embedding_size") is not None:
            self.embedding = nn.Embedding(config["vocabulary_size"], config["embedding_size"])
        self.rnn = recurrent(config["recurrent"])
        width = config["recurrent"]["hidden_size"] * (2 if config["recurrent"]["bidirectional"] else 1)
        if config.get("hidden_layer_size") is not None:
            self.hidden = nn.Linear(width, config["hidden_layer_size"])
            width = config["hidden_layer_size"]
        self.output = nn.Linear(width, config["class_count"])
        self.config = config

    def forward(self, ids, lengths):
        if hasattr(self, "embedding"):
            x = self.embedding(ids.clamp(min=0)) * (ids >= 0).unsqueeze(2)
        else:
            x = nn.functional.one_hot(ids.clamp(min=0), self.config["vocabulary_size"]).double() * (ids >= 0).unsqueeze(2)
        out, last = final_states(self.rnn, x, lengths)
        mask = (ids >= 0).unsqueeze(2)
        pooling = self.config["pooling"]
        if pooling == "max":
            pooled = out.masked_fill(~mask, float("-inf")).max(dim=0).values
        elif pooling == "mean":
            pooled = (out * mask).sum(dim=0) / lengths.unsqueeze(1)
        else:
            pooled = last
        if hasattr(self, "hidden"):
            pooled = torch.tanh(self.hidden(pooled))
        return self.output(pooled)


def allows(scheme, previous, following):
    """TagScheme.allows: may tag `following` come after `previous` (None: the start or the end)?"""
    def split(tag):
        return (tag[0], tag[2:]) if tag and tag != "O" else ("O", "")
    before, after = (split(previous) if previous else None), (split(following) if following else None)
    same = before is not None and after is not None and before[1] == after[1]
    if scheme == "iob1":
        return after is None or after[0] != "B" or same
    if scheme == "bio2":
        if after is None:
            return True
        if after[0] != "I":
            return after[0] in "OB"
        return same and before[0] in "BI"
    open_ = before is not None and before[0] in "BI"
    if after is None:
        return not open_
    if open_:
        return same and after[0] in "IE"
    return after[0] in "OBS"


class Tagger(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.embedding = nn.Embedding(config["vocabulary_size"], config["embedding_size"])
        if config.get("characters"):
            characters = config["characters"]
            self.char_embedding = nn.Embedding(characters["vocabulary_size"], characters["embedding_size"])
            self.char_rnn = recurrent(characters["recurrent"])
        self.rnn = recurrent(config["recurrent"])
        tags = config["tags"]
        self.output = nn.Linear(config["recurrent"]["hidden_size"] * (2 if config["recurrent"]["bidirectional"] else 1), len(tags))
        if config["output_layer"] == "crf":
            self.crf = CRF(len(tags))
        self.config = config

    def constrain(self):
        if not (hasattr(self, "crf") and self.config["constrains_transitions"]):
            return
        tags, scheme = self.config["tags"], self.config["scheme"]
        with torch.no_grad():
            for i, a in enumerate(tags):
                for j, b in enumerate(tags):
                    if not allows(scheme, a, b):
                        self.crf.transitions[i, j] = -1e4
            for j, b in enumerate(tags):
                if not allows(scheme, None, b):
                    self.crf.start_transitions[j] = -1e4
                if not allows(scheme, b, None):
                    self.crf.end_transitions[j] = -1e4

    def emissions(self, words, spellings, lengths):
        t, b = words.shape
        x = self.embedding(words.clamp(min=0))
        if hasattr(self, "char_embedding"):
            positions = [(step, column) for step in range(t) for column in range(b) if step < lengths[column]]
            char_lengths = torch.tensor([len(spellings[column][step]) for step, column in positions])
            chars = torch.zeros((int(char_lengths.max()), len(positions)), dtype=torch.long)
            for n, (step, column) in enumerate(positions):
                chars[:len(spellings[column][step]), n] = torch.tensor(spellings[column][step])
            _, spelled = final_states(self.char_rnn, self.char_embedding(chars), char_lengths)
            vectors = torch.zeros(t, b, spelled.shape[1], dtype=spelled.dtype)
            for n, (step, column) in enumerate(positions):
                vectors[step, column] = spelled[n]
            x = torch.cat([x, vectors], dim=2)
        out, _ = final_states(self.rnn, x, lengths)
        return self.output(out)


def check_classifier(model, texts_path):
    folder = tempfile.mkdtemp()
    state, config_path = os.path.join(folder, "c.safetensors"), os.path.join(folder, "c.json")
    recur("export-torch", model, "--output", state)
    export = json.load(open(config_path))
    config, vocabulary = export["configuration"], export["vocabulary"]
    module = Classifier(config).double()
    module.load_state_dict({k: v.double() for k, v in load_file(state).items()}, strict=True)
    module.eval()
    tokens = vocabulary["tokens"]
    index = {t: i for i, t in enumerate(tokens["tokens"])}
    labels = vocabulary["labels"]
    rows = [line.rstrip("\n").split("\t") for line in open(texts_path, encoding="utf-8") if line.strip()]
    rows = [[r[0].strip()] + [x.strip() for x in r[1:]] for r in rows]
    if tokens["level"] == "word":
        pieces = [split_words(r[0], tokens) for r in rows]
        unknown = index[tokens["unknown_token"]]
    else:
        pieces = [list(r[0].lower() if tokens["lowercases"] else r[0]) for r in rows]
        unknown = index.get(tokens.get("unknown_token"), 0)
    ids = [[index.get(p, unknown) for p in sequence] for sequence in pieces]
    lengths = torch.tensor([len(s) for s in ids])
    batch = torch.full((int(lengths.max()), len(ids)), -1, dtype=torch.long)
    for column, sequence in enumerate(ids):
        batch[:len(sequence), column] = torch.tensor(sequence)
    with torch.no_grad():
        logits = module(batch, lengths)
    separator = vocabulary.get("label_separator")
    if config.get("multi_label"):
        targets = torch.zeros(len(rows), len(labels), dtype=torch.float64)
        for i, r in enumerate(rows):
            for label in (x.strip() for x in (r[1] if len(r) > 1 else "").split(separator)):
                if label:
                    targets[i, labels.index(label)] = 1
        loss = float(nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="sum")) / len(rows)
        probabilities = torch.sigmoid(logits)
    else:
        targets = torch.tensor([labels.index(r[1]) for r in rows])
        loss = float(nn.functional.cross_entropy(logits, targets))
        probabilities = torch.softmax(logits, dim=1)
    recur_loss = json.loads(recur("eval", model, "--data", texts_path, "--json"))["loss"]
    worst = 0.0
    for line, row in zip(recur("classify", model, "--json", "--top", str(len(labels)), *[r[0] for r in rows]).splitlines(), probabilities):
        for choice in json.loads(line)["top"]:
            worst = max(worst, abs(choice["probability"] - float(row[labels.index(choice["label"])])))
    print(f"classifier {os.path.basename(model)} ({config['recurrent']['cell']}, {config['pooling']} pooling"
          f"{', multi-label' if config.get('multi_label') else ''}): "
          f"{len(rows)} texts, loss PyTorch {loss:.6f} vs Recur {recur_loss:.6f} (difference {abs(loss - recur_loss):.1e}), "
          f"largest probability difference {worst:.1e}")
    return abs(loss - recur_loss) <= 1e-4 and worst <= 1e-4


def check_tagger(model, sentences_path):
    folder = tempfile.mkdtemp()
    state, config_path = os.path.join(folder, "t.safetensors"), os.path.join(folder, "t.json")
    recur("export-torch", model, "--output", state)
    export = json.load(open(config_path))
    config, vocabulary = export["configuration"], export["vocabulary"]
    module = Tagger(config).double()
    module.load_state_dict({k: v.double() for k, v in load_file(state).items()}, strict=True)
    module.constrain()
    module.eval()
    words, characters = vocabulary["words"], vocabulary.get("characters")
    word_index = {t: i for i, t in enumerate(words["tokens"])}
    char_index = {t: i for i, t in enumerate(characters["tokens"])} if characters else {}
    tags = config["tags"]
    tagged = json.loads(recur("eval", model, "--data", sentences_path, "--json"))
    recur_tags = [json.loads(line)["tags"] for line in
                  recur("tag", model, "--file", sentences_path, "--input-format", "conll", "--format", "json").splitlines()]
    sentences, current = [], []
    for line in open(sentences_path, encoding="utf-8"):
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if current:
                sentences.append(current)
            current = []
            continue
        current.append((fields[0], fields[-1]))
    if current:
        sentences.append(current)
    total, tokens, differing = 0.0, 0, 0
    for sentence, theirs in zip(sentences, recur_tags):
        words_ = [w for w, _ in sentence]
        ids = torch.tensor([[word_index.get(w.lower() if words["lowercases"] else w, word_index[words["unknown_token"]])] for w in words_])
        spellings = [[[char_index.get(c, char_index.get("\ufffd", 0)) for c in w] for w in words_]]
        with torch.no_grad():
            e = module.emissions(ids, spellings, torch.tensor([len(words_)]))
        gold = [t for _, t in sentence]
        chunks = get_entities(gold)
        encoded = ["O"] * len(gold)
        for kind, start, end in chunks:          # the model's scheme is IOBES by default
            scheme = config["scheme"]
            for i in range(start, end + 1):
                encoded[i] = "I-" + kind
            if scheme == "bio2" or (scheme == "iobes" and start != end):
                encoded[start] = "B-" + kind
            if scheme == "iobes":
                if start == end:
                    encoded[start] = "S-" + kind
                else:
                    encoded[end] = "E-" + kind
        target = torch.tensor([[tags.index(t) if t in tags else 0] for t in encoded])
        with torch.no_grad():
            if hasattr(module, "crf"):
                mask = torch.ones_like(target, dtype=torch.bool)
                total -= float(module.crf(e, target, mask=mask, reduction="sum"))
                path = module.crf.decode(e, mask=mask)[0]
            else:
                total += float(nn.functional.cross_entropy(e[:, 0], target[:, 0], reduction="sum"))
                path = e[:, 0].argmax(dim=1).tolist()
        tokens += len(words_)
        if sorted(get_entities([tags[i] for i in path])) != sorted(get_entities(theirs)):
            differing += 1
    loss = total / tokens
    print(f"tagger {os.path.basename(model)} ({config['output_layer']}, characters: {bool(characters)}): {len(sentences)} sentences, "
          f"loss PyTorch {loss:.6f} vs Recur {tagged['loss']:.6f} (difference {abs(loss - tagged['loss']):.1e}), "
          f"sentences whose entities differ: {differing}")
    return abs(loss - tagged["loss"]) <= 1e-4 and differing == 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--classifier", action="append", default=[])
    parser.add_argument("--texts", help="a labelled TSV file for the classifiers")
    parser.add_argument("--multi-label", action="append", default=[], help="a multi-label classifier")
    parser.add_argument("--multi-label-texts", help="a TSV file with comma-separated label lists for the multi-label classifiers")
    parser.add_argument("--tagger", action="append", default=[])
    parser.add_argument("--sentences", help="a CoNLL file for the taggers")
    args = parser.parse_args()
    print(f"torch {torch.__version__}")
    ok = all([check_classifier(m, args.texts) for m in args.classifier]
             + [check_classifier(m, args.multi_label_texts) for m in args.multi_label]
             + [check_tagger(m, args.sentences) for m in args.tagger])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
