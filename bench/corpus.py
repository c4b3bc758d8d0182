"""Deterministic synthetic corpora of English-looking text for the benchmark.

Real text has a few very common words (most of them stopwords), a long tail of rare ones
and sentences of varied length; BM25 cost depends on exactly that (long postings for
common terms, short ones for rare terms), so a uniform random vocabulary would flatter
every system. Words follow a Zipf law (s = 1.07) over a fixed list of common English
words followed by pronounceable made-up words, numbers like ``97.4`` and ``20,000`` mixed
in, all from a seeded generator so every run and every system sees the same chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

# The most frequent English words (stopwords first, as in real text), then common nouns,
# verbs and adjectives, so the tokenizer's stopword removal and stemming do real work.
_COMMON = """
the of and to a in is it you that he was for on are with as i his they be at one have
this from or had by not word but what some we can out other were all there when up use
your how said an each she which do their time if will way about many then them write
would like so these her long make thing see him two has look more day could go come did
number sound no most people my over know water than call first who may down side been now
find any new work part take get place made live where after back little only round man
year came show every good me give our under name very through just form sentence great
think say help low line differ turn cause much mean before move right boy old too same
tell does set three want air well also play small end put home read hand port large spell
add even land here must big high such follow act why ask men change went light kind off
need house picture try us again animal point mother world near build self earth father
head stand own page should country found answer school grow study still learn plant cover
food sun four between state keep eye never last let thought city tree cross farm hard
start might story saw far sea draw left late run while press close night real life few
north open seem together next white children begin got walk example ease paper group
always music those both mark often letter until mile river car feet care second book carry
took science eat room friend began idea fish mountain stop once base hear horse cut sure
watch color face wood main enough plain girl usual young ready above ever red list though
feel talk bird soon body dog family direct pose leave song measure door product black
short numeral class wind question happen complete ship area half rock order fire south
problem piece told knew pass since top whole king space heard best hour better true during
hundred five remember step early hold west ground interest reach fast verb sing listen six
table travel less morning ten simple several vowel toward war lay against pattern slow
center love person money serve appear road map rain rule govern pull cold notice voice
unit power town fine certain fly fall lead cry dark machine note wait plan figure star
box noun field rest correct able pound done beauty drive stood contain front teach week
final gave green oh quick develop ocean warm free minute strong special mind behind clear
tail produce fact street inch multiply nothing course stay wheel full force blue object
decide surface deep moon island foot system busy test record boat common gold possible
plane stead dry wonder laugh thousand ago ran check game shape equate hot miss brought
heat snow tire bring yes distant fill east paint language among grand ball yet wave drop
heart present heavy dance engine position arm wide sail material size vary settle speak
weight general ice matter circle pair include divide syllable felt perhaps pick sudden
count square reason length represent art subject region energy hunt probable bed brother
egg ride cell believe fraction forest sit race window store summer train sleep prove lone
leg exercise wall catch mount wish sky board joy winter sat written wild instrument kept
glass grass cow job edge sign visit past soft fun bright gas weather month million bear
finish happy hope flower clothe strange gone jump baby eight village meet root buy raise
solve metal whether push seven paragraph third shall held hair describe cook floor either
result burn hill safe cat century consider type law bit coast copy phrase silent tall sand
soil roll temperature finger industry value fight lie beat excite natural view sense ear
else quite broke case middle kill son lake moment scale loud spring observe child straight
consonant nation dictionary milk speed method organ pay age section dress cloud surprise
quiet stone tiny climb cool design poor lot experiment bottom key iron single stick flat
twenty skin smile crease hole trade melody trip office receive row mouth exact symbol die
least trouble shout except wrote seed tone join suggest clean break lady yard rise bad
blow oil blood touch grew cent mix team wire cost lost brown wear garden equal sent choose
fell fit flow fair bank collect save control decimal gentle woman captain practice
separate difficult doctor please protect noon whose locate ring character insect caught
period indicate radio spoke atom human history effect electric expect crop modern element
hit student corner party supply bone rail imagine provide agree thus capital chair danger
fruit rich thick soldier process operate guess necessary sharp wing create neighbor wash
bat rather crowd corn compare poem string bell depend meat rub tube famous dollar stream
fear sight thin triangle planet hurry chief colony clock mine tie enter major fresh search
send yellow gun allow print dead spot desert suit current lift rose continue block chart
hat sell success company subtract event particular deal swim term opposite wife shoe
shoulder spread arrange camp invent cotton born determine quart nine truck noise level
chance gather shop stretch throw shine property column molecule select wrong gray repeat
require broad prepare salt nose plural anger claim continent oxygen sugar death pretty
skill women season solution magnet silver thank branch match suffix especially fig afraid
huge sister steel discuss forward similar guide experience score apple bought led pitch
coat mass card band rope slip win dream evening condition feed tool total basic smell
valley nor double seat arrive master track parent shore division sheet substance favor
connect post spend chord fat glad original share station dad bread charge proper bar offer
segment slave duck instant market degree populate chick dear enemy reply drink occur
support speech nature range steam motion path liquid log meant quotient teeth shell neck
""".split()

_ONSETS = "b c d f g h j k l m n p r s t v w z bl br ch cl cr dr fl fr gl gr pl pr sc sh sl sp st str th tr".split()
_VOWELS = "a e i o u ai ea ee io ou oa".split()
_CODAS = ["", "", "n", "r", "s", "t", "l", "m", "nd", "nt", "st", "rk", "ng", "ck"]
_SUFFIXES = ["", "", "", "s", "ing", "ed", "er", "tion", "ment", "ly", "ness", "al", "ity", "ive"]


def vocabulary(size: int, seed: int = 7) -> list[str]:
    """The common words, then made-up words of 1 to 3 syllables plus a suffix."""
    rng = np.random.default_rng(seed)
    words = list(dict.fromkeys(_COMMON))
    seen = set(words)
    while len(words) < size:
        syllables = int(rng.choice(3, p=[0.4, 0.45, 0.15])) + 1
        word = "".join(
            _ONSETS[rng.integers(len(_ONSETS))]
            + _VOWELS[rng.integers(len(_VOWELS))]
            + _CODAS[rng.integers(len(_CODAS))]
            for _ in range(syllables)
        ) + _SUFFIXES[rng.integers(len(_SUFFIXES))]
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def chunks(n: int, seed: int = 42, vocab_size: int = 60_000) -> Iterator[str]:
    """``n`` chunks of 2 to 6 sentences of 4 to 28 words each, the same on every call."""
    rng = np.random.default_rng(seed)
    words = np.array(vocabulary(vocab_size), dtype=object)
    ranks = np.arange(1, len(words) + 1, dtype=np.float64)
    cdf = np.cumsum(ranks**-1.07)
    cdf /= cdf[-1]
    batch = 2_000
    for start in range(0, n, batch):
        count = min(batch, n - start)
        n_sentences = rng.integers(2, 7, size=count)
        lengths = rng.integers(4, 29, size=int(n_sentences.sum()))
        picks = words[np.searchsorted(cdf, rng.random(int(lengths.sum())))]
        numbers = rng.random(len(picks))
        # about one word in 150 is a number, in the forms the tokenizer must keep whole
        for i in np.flatnonzero(numbers < 1 / 150):
            kind = int(rng.integers(3))
            value = int(rng.integers(1, 100_000))
            picks[i] = (f"{value / 10:.1f}", f"{value:,}", str(1900 + value % 125))[kind]
        pos = 0
        sentence = 0
        for c in range(count):
            sentences = []
            for _ in range(n_sentences[c]):
                length = lengths[sentence]
                sentence += 1
                text = " ".join(picks[pos : pos + length])
                pos += length
                sentences.append(text[:1].upper() + text[1:] + ".")
            yield " ".join(sentences)


def write_corpus(path: Path, n: int) -> Path:
    """Write ``n`` chunks one per line (chunks hold no newline) unless already there."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for text in chunks(n):
            out.write(text + "\n")
    tmp.replace(path)
    return path


def read_corpus(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def write_folder(root: Path, files: int, per_file: int) -> None:
    """``files`` text files of ``per_file`` paragraphs each (the same on every call)."""
    texts = chunks(files * per_file)
    for i in range(files):
        body = "\n\n".join(next(texts) for _ in range(per_file))
        (root / f"doc{i:05d}.txt").write_text(body + "\n", encoding="utf-8")
