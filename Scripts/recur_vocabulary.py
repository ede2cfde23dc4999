"""What the interchange check scripts share: Recur's vocabulary file format, how `recur score` turns a
sentence into ids, and the command line (models and sentences) with a pass/fail exit."""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECUR = os.path.join(ROOT, ".build", "release", "recur")
ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}


def tokens_of(text, level):
    """The tokens of a vocabulary file's text: one per line; at char level \\n \\r \\t \\\\ are escapes."""
    lines = text.split("\n")[:-1]
    if level == "word":
        return lines
    tokens = []
    for line in lines:
        token, i = "", 0
        while i < len(line):
            if line[i] == "\\":
                token, i = token + ESCAPES[line[i + 1]], i + 2
            else:
                token, i = token + line[i], i + 1
        tokens.append(token)
    return tokens


def encode(sentence, tokens, config):
    """The ids recur score reads: the sentence's words (or characters), unknown ones as unk_token, then eos."""
    index = {t: i for i, t in enumerate(tokens)}
    pieces = sentence.split() if config["level"] == "word" else list(sentence)
    return [index[p] if p in index else index[config["unk_token"]] for p in pieces] + [index[config["eos_token"]]]


def run(check, versions):
    """Runs check(model, sentences) → largest difference per token on every model given; exits 1 above 1e-4."""
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--sentence", action="append", default=None, help="a sentence to score (default: the README's two)")
    args = parser.parse_args()
    sentences = args.sentence or ["The apple and pair salad.", "The apple and pear salad."]
    print(versions)
    worst = max(check(path, sentences) for path in args.models)
    sys.exit(0 if worst <= 1e-4 else 1)
