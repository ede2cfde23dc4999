#!/usr/bin/env python3
"""The PyTorch peer of `recur train tagger`: the same BiLSTM-CRF on the same data, hyper-parameters and threads.

Architecture, as Recur's SequenceTagger: word vectors (E_w) joined by a bidirectional LSTM's last states over each
word's characters (E_c → H_c per direction), dropout, a bidirectional LSTM over the sentence (H per direction), a
linear layer to the tags, and a linear-chain CRF (pytorch-crf) whose transitions that IOBES forbids are held at
−10⁴, as Recur's constraints do. Tags are read by conlleval's rules (seqeval's get_entities) and written in IOBES;
words are the training file's (min count 1) with an unknown word, word dropout reads a training word as unknown
with probability p; Adam, gradient norm clipped to 5, batches of whole sentences in a seeded shuffle.

It trains for --epochs, or until --seconds of training have passed or --steps batches are done (validation time not counted), validates on
--valid after every epoch, and prints one JSON line per epoch and a final one with the best entity F1 (seqeval,
conlleval's rules), training tokens/s, and inference tokens/s over --valid (tagging only, batches of 64).

    ~/venv-ref/bin/python Benchmarks/torch_tagger.py --data ../shared/data/conll2003/eng.train \
        --valid ../shared/data/conll2003/eng.testa --epochs 15 --threads 2
"""
import argparse
import json
import random
import time

import torch
from torch import nn
from torchcrf import CRF
from seqeval.metrics import f1_score
from seqeval.metrics.sequence_labeling import get_entities


def read_conll(path):
    sentences, tokens, tags = [], [], []
    for line in open(path, encoding="utf-8"):
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if tokens:
                sentences.append((tokens, tags))
            tokens, tags = [], []
            continue
        tokens.append(fields[0])
        tags.append(fields[-1])
    if tokens:
        sentences.append((tokens, tags))
    return sentences


def iobes(tags):
    out = ["O"] * len(tags)
    for kind, start, end in get_entities(tags):
        if start == end:
            out[start] = "S-" + kind
        else:
            out[start] = "B-" + kind
            out[end] = "E-" + kind
            for i in range(start + 1, end):
                out[i] = "I-" + kind
    return out


def allowed(previous, following):
    """IOBES: whether tag `following` may come after `previous` (None: the start or the end)."""
    open_ = previous is not None and previous[0] in "BI"
    if following is None:
        return not open_
    if open_:
        return following[0] in "IE" and following[2:] == previous[2:]
    return following[0] in "OBS"


class Tagger(nn.Module):
    def __init__(self, words, chars, tags, args):
        super().__init__()
        self.embedding = nn.Embedding(words, args.embedding_size)
        self.char_embedding = nn.Embedding(chars, args.character_embedding_size)
        self.char_rnn = nn.LSTM(args.character_embedding_size, args.character_hidden_size, bidirectional=True)
        self.rnn = nn.LSTM(args.embedding_size + 2 * args.character_hidden_size, args.hidden_size, bidirectional=True)
        self.dropout = nn.Dropout(args.input_dropout)
        self.output = nn.Linear(2 * args.hidden_size, tags)
        self.crf = CRF(tags)

    def emissions(self, words, chars, char_lengths, positions, lengths):
        t, b = words.shape
        c = self.char_embedding(chars)                                   # [T_c, N, E_c]
        packed = nn.utils.rnn.pack_padded_sequence(c, char_lengths, enforce_sorted=False)
        _, (h, _) = self.char_rnn(packed)                                # h [2, N, H_c]
        spelled = torch.cat([h[0], h[1]], dim=1)
        char_vectors = torch.zeros(t * b, spelled.shape[1])
        char_vectors[positions] = spelled
        x = torch.cat([self.embedding(words.clamp(min=0)), char_vectors.view(t, b, -1)], dim=2)
        x = self.dropout(x)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=t)
        return self.output(out)


def batch_tensors(batch, word_ids, char_ids, unknown, word_dropout=0.0, rng=None):
    lengths = [len(s[0]) for s in batch]
    t, b = max(lengths), len(batch)
    words = torch.full((t, b), -1, dtype=torch.long)
    tags = torch.zeros((t, b), dtype=torch.long)
    mask = torch.zeros((t, b), dtype=torch.bool)
    positions, spellings = [], []
    for step in range(t):
        for column, (tokens, ids) in enumerate(batch):
            if step < len(tokens):
                word = word_ids.get(tokens[step], unknown)
                if word_dropout and rng.random() < word_dropout:
                    word = unknown
                words[step, column] = word
                tags[step, column] = ids[step]
                mask[step, column] = True
                positions.append(step * b + column)
                spellings.append([char_ids.get(ch, 0) for ch in tokens[step]])
    char_lengths = [len(s) for s in spellings]
    chars = torch.zeros((max(char_lengths), len(spellings)), dtype=torch.long)
    for n, spelling in enumerate(spellings):
        chars[:len(spelling), n] = torch.tensor(spelling)
    return words, tags, mask, chars, torch.tensor(char_lengths), torch.tensor(positions), torch.tensor(lengths)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--valid", help="validation sentences (none: no validation, speed only)")
    parser.add_argument("--embedding-size", type=int, default=100)
    parser.add_argument("--hidden-size", type=int, default=100)
    parser.add_argument("--character-embedding-size", type=int, default=25)
    parser.add_argument("--character-hidden-size", type=int, default=25)
    parser.add_argument("--input-dropout", type=float, default=0.5)
    parser.add_argument("--word-dropout", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=0.002)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=None, help="stop training after this much training time")
    parser.add_argument("--steps", type=int, default=None, help="stop training after this many batches")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)

    training, validation = read_conll(args.data), read_conll(args.valid) if args.valid else []
    counts = {}
    for tokens, _ in training:
        for token in tokens:
            counts[token] = counts.get(token, 0) + 1
    word_list = sorted(counts, key=lambda w: (-counts[w], w)) + ["<unk>"]
    word_ids = {w: i for i, w in enumerate(word_list)}
    unknown = word_ids["<unk>"]
    char_list = ["\ufffd"] + sorted({ch for tokens, _ in training for token in tokens for ch in token})
    char_ids = {c: i for i, c in enumerate(char_list)}
    types = sorted({kind for _, tags in training for kind, _, _ in get_entities(tags)})
    tag_list = ["O"] + [f"{p}-{t}" for t in types for p in "BIES"]
    tag_ids = {t: i for i, t in enumerate(tag_list)}

    def encode(sentences):
        return [(tokens, [tag_ids.get(t, 0) for t in iobes(tags)]) for tokens, tags in sentences]

    train_set, valid_set = encode(training), encode(validation)
    model = Tagger(len(word_list), len(char_list), len(tag_list), args)
    forbidden = torch.tensor([[not allowed(a, b) for b in tag_list] for a in tag_list])
    forbidden_start = torch.tensor([not allowed(None, b) for b in tag_list])
    forbidden_end = torch.tensor([not allowed(a, None) for a in tag_list])

    def constrain():
        with torch.no_grad():
            model.crf.transitions[forbidden] = -1e4
            model.crf.start_transitions[forbidden_start] = -1e4
            model.crf.end_transitions[forbidden_end] = -1e4

    constrain()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    tokens_trained, training_seconds, best, steps = 0, 0.0, 0.0, 0

    def evaluate():
        model.eval()
        gold, predicted, tokens = [], [], 0
        start = time.perf_counter()
        with torch.no_grad():
            for i in range(0, len(valid_set), 64):
                batch = valid_set[i:i + 64]
                words, tags, mask, chars, char_lengths, positions, lengths = batch_tensors(batch, word_ids, char_ids, unknown)
                paths = model.crf.decode(model.emissions(words, chars, char_lengths, positions, lengths), mask=mask)
                for (sentence_tokens, ids), path in zip(batch, paths):
                    gold.append([tag_list[j] for j in ids])
                    predicted.append([tag_list[j] for j in path])
                    tokens += len(sentence_tokens)
        seconds = time.perf_counter() - start
        model.train()
        return f1_score(gold, predicted), tokens / seconds

    for epoch in range(1, args.epochs + 1):
        order = list(range(len(train_set)))
        rng.shuffle(order)
        start = time.perf_counter()
        for i in range(0, len(order), args.batch_size):
            batch = [train_set[j] for j in order[i:i + args.batch_size]]
            words, tags, mask, chars, char_lengths, positions, lengths = batch_tensors(
                batch, word_ids, char_ids, unknown, args.word_dropout, rng)
            emissions = model.emissions(words, chars, char_lengths, positions, lengths)
            loss = -model.crf(emissions, tags, mask=mask, reduction="token_mean")
            optimizer.zero_grad()
            loss.backward()
            for p in (model.crf.transitions, model.crf.start_transitions, model.crf.end_transitions):
                p.grad[p.detach() <= -1e4 + 1] = 0
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            constrain()
            tokens_trained += int(mask.sum())
            steps += 1
            if args.seconds and training_seconds + time.perf_counter() - start > args.seconds:
                break
            if args.steps and steps >= args.steps:
                break
        training_seconds += time.perf_counter() - start
        if args.steps and steps >= args.steps and not valid_set:
            break
        f1, inference_rate = evaluate() if valid_set else (float("nan"), float("nan"))
        best = max(best, f1)
        print(json.dumps({"epoch": epoch, "f1": f1, "training_seconds": round(training_seconds, 1),
                          "training_tokens_per_second": round(tokens_trained / training_seconds),
                          "inference_tokens_per_second": round(inference_rate)}), flush=True)
        if (args.seconds and training_seconds >= args.seconds) or (args.steps and steps >= args.steps):
            break
    print(json.dumps({"final": True, "best_f1": best, "steps": steps, "tokens": tokens_trained,
                      "training_seconds": round(training_seconds, 2),
                      "training_tokens_per_second": round(tokens_trained / training_seconds),
                      "torch": torch.__version__, "threads": args.threads}))


if __name__ == "__main__":
    main()
