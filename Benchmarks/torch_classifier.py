#!/usr/bin/env python3
"""The PyTorch peer of `recur train classifier --folds K`: the same model on the same data, hyper-parameters and
threads, cross-validated the same way.

Architecture, as Recur's SequenceClassifier: token vectors (words, lowercased and with punctuation split off as
Recur's --split-punctuation does, or characters), dropout, a bidirectional LSTM, max, mean or last pooling over each
sequence's own steps, dropout, a linear layer and softmax cross-entropy; Adam (L2 weight decay as Recur's adam),
gradient norm clipped to 5, K stratified folds from a seeded shuffle (not the same shuffle as Recur's, so folds
differ; the mean over folds is what compares). Each fold's model is measured on its held-out fold at the end of its
run. Prints one JSON line per fold and a final one: mean and standard deviation of the accuracy, training
sequences/s, and inference sequences/s over the held-out folds (batches of 256). With --folds 1 it trains on every
example (for --epochs, or --steps batches) and measures inference over every example: a speed run.

    ~/venv-ref/bin/python Benchmarks/torch_classifier.py --data all.txt --folds 10 --threads 2 --epochs 10 \
        --embedding-size 64 --hidden-size 64 --pooling max --input-dropout 0.3 --output-dropout 0.5 \
        --learning-rate 0.003 --weight-decay 0.001 --batch-size 32
"""
import argparse
import csv
import json
import random
import statistics
import time
import unicodedata

import torch
from torch import nn


def is_word_character(c):
    category = unicodedata.category(c)
    return not (category.startswith("P") or category.startswith("S"))


def words(text, lowercase, split_punctuation):
    if lowercase:
        text = text.lower()
    pieces = text.replace("\t", " ").split(" ")
    result = []
    for piece in pieces:
        if not piece:
            continue
        if not split_punctuation:
            result.append(piece)
            continue
        word = ""
        for i, c in enumerate(piece):
            joins = c in "'’-" and 0 < i < len(piece) - 1 and is_word_character(piece[i - 1]) and is_word_character(piece[i + 1])
            if is_word_character(c) or joins:
                word += c
            else:
                if word:
                    result.append(word)
                    word = ""
                result.append(c)
        if word:
            result.append(word)
    return result


class Classifier(nn.Module):
    def __init__(self, vocabulary, classes, args):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, args.embedding_size)
        self.rnn = nn.LSTM(args.embedding_size, args.hidden_size, bidirectional=True)
        self.input_dropout = nn.Dropout(args.input_dropout)
        self.output_dropout = nn.Dropout(args.output_dropout)
        self.output = nn.Linear(2 * args.hidden_size, classes)
        self.pooling = args.pooling

    def forward(self, ids, lengths):
        x = self.input_dropout(self.embedding(ids.clamp(min=0)))
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, (h, _) = self.rnn(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=ids.shape[0])
        mask = (ids >= 0).unsqueeze(2)
        if self.pooling == "max":
            pooled = out.masked_fill(~mask, float("-inf")).max(dim=0).values
        elif self.pooling == "mean":
            pooled = (out * mask).sum(dim=0) / lengths.unsqueeze(1)
        else:
            pooled = torch.cat([h[0], h[1]], dim=1)
        return self.output(self.output_dropout(pooled))


def pack(examples):
    lengths = torch.tensor([len(ids) for ids, _ in examples])
    ids = torch.full((int(lengths.max()), len(examples)), -1, dtype=torch.long)
    for column, (sequence, _) in enumerate(examples):
        ids[:len(sequence), column] = torch.tensor(sequence)
    return ids, lengths, torch.tensor([label for _, label in examples])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--format", choices=["tsv", "csv"], default="tsv")
    parser.add_argument("--text-column", type=int, default=1)
    parser.add_argument("--label-column", type=int, default=2)
    parser.add_argument("--level", choices=["word", "char"], default="word")
    parser.add_argument("--lowercase", action="store_true")
    parser.add_argument("--split-punctuation", action="store_true")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=None, help="stop each fold's training after this many batches")
    parser.add_argument("--embedding-size", type=int, default=64)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--pooling", choices=["last", "mean", "max"], default="max")
    parser.add_argument("--input-dropout", type=float, default=0.3)
    parser.add_argument("--output-dropout", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.003)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with open(args.data, encoding="utf-8", newline="") as f:
        if args.format == "csv":
            rows = [r for r in csv.reader(f) if r]
        else:
            rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    texts = [r[args.text_column - 1].strip() for r in rows]
    labels = [r[args.label_column - 1].strip() for r in rows]
    classes = sorted(set(labels))
    if args.level == "word":
        tokenized = [words(t, args.lowercase, args.split_punctuation) for t in texts]
    else:
        tokenized = [list(t.lower() if args.lowercase else t) for t in texts]

    rng = random.Random(args.seed)
    order = list(range(len(rows)))
    rng.shuffle(order)
    fold_of, next_fold = [0] * len(rows), 0
    for label in classes:
        for i in order:
            if labels[i] == label:
                fold_of[i] = next_fold % args.folds
                next_fold += 1

    accuracies, train_rates, infer_rates = [], [], []
    for fold in range(args.folds):
        torch.manual_seed(args.seed + fold)
        train_idx = [i for i in range(len(rows)) if fold_of[i] != fold or args.folds == 1]
        test_idx = [i for i in range(len(rows)) if fold_of[i] == fold or args.folds == 1]
        vocabulary = {}
        for i in train_idx:
            for token in tokenized[i]:
                vocabulary.setdefault(token, len(vocabulary))
        unknown = len(vocabulary)

        def encode(i):
            return [vocabulary.get(token, unknown) for token in tokenized[i]], classes.index(labels[i])

        train_set, test_set = [encode(i) for i in train_idx], [encode(i) for i in test_idx]
        model = Classifier(unknown + 1, len(classes), args)
        optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
        loss_function = nn.CrossEntropyLoss()
        start, seen, steps = time.perf_counter(), 0, 0
        for _ in range(args.epochs):
            rng.shuffle(train_set)
            for i in range(0, len(train_set), args.batch_size):
                if args.steps and steps >= args.steps:
                    break
                steps += 1
                ids, lengths, target = pack(train_set[i:i + args.batch_size])
                loss = loss_function(model(ids, lengths), target)
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                optimizer.step()
                seen += len(target)
        train_rates.append(seen / (time.perf_counter() - start))
        model.eval()
        correct, start = 0, time.perf_counter()
        with torch.no_grad():
            for i in range(0, len(test_set), 256):
                ids, lengths, target = pack(test_set[i:i + 256])
                correct += int((model(ids, lengths).argmax(dim=1) == target).sum())
        infer_rates.append(len(test_set) / (time.perf_counter() - start))
        accuracies.append(correct / len(test_set))
        print(json.dumps({"fold": fold + 1, "accuracy": accuracies[-1], "training_sequences_per_second": round(train_rates[-1]),
                          "inference_sequences_per_second": round(infer_rates[-1])}), flush=True)
    print(json.dumps({"final": True, "folds": args.folds, "accuracy_mean": statistics.mean(accuracies),
                      "accuracy_std": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
                      "training_sequences_per_second": round(statistics.median(train_rates)),
                      "inference_sequences_per_second": round(statistics.median(infer_rates)),
                      "torch": torch.__version__, "threads": args.threads}))


if __name__ == "__main__":
    main()
