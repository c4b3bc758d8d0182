/* The query kernel of docqa's BM25+ index: term lookup, pruned top-k, deletion counts.
 *
 * A plain CPython extension (no numpy headers: arrays come in through the buffer
 * protocol), built by pip with the system compiler. index/scoring.py holds the same
 * operations in numpy and uses them when this module is missing.
 *
 * search() scores a query over several segments with MaxScore pruning (Turtle & Flood
 * 1995), one window of 16,384 chunk ids at a time so the window's accumulators stay in
 * cache: at each window's start the terms whose upper bounds together stay below the
 * k-th best score so far are non-essential; the essential terms' postings in the window
 * are added term at a time, then each chunk they reached is completed, in id order, by
 * looking the non-essential terms up (galloping search) while it can still reach the
 * k-th best. Every term's cursor carries over to the next window. The chunks that
 * survive are rescored exactly, term by term
 * in the question's order, with the same operations as BM25Scorer.get_scores, so a
 * returned score is bit for bit the one get_scores gives (and rank-bm25's to 1e-9).
 *
 * Built with -ffp-contract=off so no multiply-add is fused: the floating-point
 * operations must be numpy's, one by one.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#endif

/* --- buffers -------------------------------------------------------------------- */

typedef struct {
    Py_buffer view;
    int held;
} Buf;

static int get_buf(PyObject *obj, Buf *buf, Py_ssize_t itemsize, const char *what) {
    buf->held = 0;
    if (obj == Py_None) {
        buf->view.buf = NULL;
        buf->view.len = 0;
        return 0;
    }
    if (PyObject_GetBuffer(obj, &buf->view, PyBUF_SIMPLE) < 0) return -1;
    buf->held = 1;
    if (itemsize > 1 && buf->view.len % itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: buffer length is not a multiple of %zd", what, itemsize);
        return -1;
    }
    return 0;
}

static void release(Buf *buf) {
    if (buf->held) PyBuffer_Release(&buf->view);
    buf->held = 0;
}

/* --- vocabulary: terms sorted bytewise, concatenated, with int64 offsets ------------- */

static int64_t find_term(const char *blob, const int64_t *offsets, int64_t n, const char *term,
                         Py_ssize_t len) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int64_t a = offsets[mid], b = offsets[mid + 1];
        Py_ssize_t mlen = (Py_ssize_t)(b - a);
        Py_ssize_t common = mlen < len ? mlen : len;
        int c = memcmp(blob + a, term, (size_t)common);
        if (c == 0) c = (mlen > len) - (mlen < len);
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return -1;
}

static PyObject *py_lookup(PyObject *self, PyObject *args) {
    PyObject *blob_o, *offsets_o;
    const char *term;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "OOy#", &blob_o, &offsets_o, &term, &len)) return NULL;
    Buf blob, offsets;
    if (get_buf(blob_o, &blob, 1, "blob") < 0) return NULL;
    if (get_buf(offsets_o, &offsets, 8, "offsets") < 0) { release(&blob); return NULL; }
    int64_t n = offsets.view.len / 8 - 1;
    int64_t found = n > 0 ? find_term(blob.view.buf, offsets.view.buf, n, term, len) : -1;
    release(&blob);
    release(&offsets);
    return PyLong_FromLongLong(found);
}

/* --- deletions: postings per term whose chunk is marked ---------------------------- */

static PyObject *py_count_marked(PyObject *self, PyObject *args) {
    PyObject *indptr_o, *docs_o, *mask_o, *out_o;
    if (!PyArg_ParseTuple(args, "OOOO", &indptr_o, &docs_o, &mask_o, &out_o)) return NULL;
    Buf indptr, docs, mask, out;
    if (get_buf(indptr_o, &indptr, 8, "indptr") < 0) return NULL;
    if (get_buf(docs_o, &docs, 4, "doc_ids") < 0) { release(&indptr); return NULL; }
    if (get_buf(mask_o, &mask, 1, "mask") < 0) { release(&indptr); release(&docs); return NULL; }
    if (PyObject_GetBuffer(out_o, &out.view, PyBUF_WRITABLE) < 0) {
        release(&indptr); release(&docs); release(&mask); return NULL;
    }
    out.held = 1;
    int64_t n_terms = indptr.view.len / 8 - 1;
    const int64_t *ptr = indptr.view.buf;
    const int32_t *d = docs.view.buf;
    const uint8_t *m = mask.view.buf;
    int32_t *o = out.view.buf;
    Py_ssize_t n_docs = mask.view.len;
    int bad = out.view.len < n_terms * 4;
    for (int64_t t = 0; t < n_terms && !bad; t++) {
        int32_t count = 0;
        for (int64_t p = ptr[t]; p < ptr[t + 1]; p++) {
            int32_t doc = d[p];
            if (doc < 0 || doc >= n_docs) { bad = 1; break; }
            count += m[doc] != 0;
        }
        o[t] = count;
    }
    release(&indptr); release(&docs); release(&mask); release(&out);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "postings point outside the segment");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* --- scanning: one folder's entries with their stats ------------------------------------ */

/* list_dir(path) -> (files, sizes, mtimes, dirs) or None when the folder cannot be read
 *   names not starting with "." (decoded as os.fsdecode does); a file's size and mtime in
 *   ns from stat() following links, or lstat() when that fails (a broken link, a loop),
 *   left out when both fail; a folder is an entry whose stat() (following links) says
 *   so. os.scandir and DirEntry.stat() do the same, one object per entry: this is the
 *   scan of a start, 75,000 files at 1M chunks. */
typedef struct {
    char *name;
    int is_dir;
    long long size, mtime;
} DirItem;

static int cmp_dir_item(const void *a, const void *b) {
    return strcmp(((const DirItem *)a)->name, ((const DirItem *)b)->name);
}

static PyObject *py_list_dir(PyObject *self, PyObject *arg) {
#ifdef __linux__
    PyObject *path_b = NULL;
    if (!PyUnicode_FSConverter(arg, &path_b)) return NULL;
    DIR *dir;
    DirItem *items = NULL;
    size_t n = 0, cap = 0;
    int oom = 0;
    Py_BEGIN_ALLOW_THREADS
    dir = opendir(PyBytes_AS_STRING(path_b));
    if (dir) {
        int fd = dirfd(dir);
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            const char *name = e->d_name;
            if (name[0] == '.') continue;
            struct stat st;
            int have = 0, is_dir = 0;
            if (e->d_type == DT_DIR) {
                is_dir = 1;
            } else if (e->d_type == DT_REG) {
                have = fstatat(fd, name, &st, 0) == 0;
            } else { /* a link, or a file system that does not say: follow it */
                have = fstatat(fd, name, &st, 0) == 0;
                is_dir = have && S_ISDIR(st.st_mode);
            }
            if (!is_dir && !have) have = fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
            if (!is_dir && !have) continue; /* vanished since it was listed */
            if (n == cap) {
                size_t grown = cap ? cap * 2 : 256;
                DirItem *more = realloc(items, grown * sizeof(DirItem));
                if (!more) { oom = 1; break; }
                items = more;
                cap = grown;
            }
            items[n].name = strdup(name);
            if (!items[n].name) { oom = 1; break; }
            items[n].is_dir = is_dir;
            items[n].size = is_dir ? 0 : (long long)st.st_size;
            items[n].mtime = is_dir ? 0 : (long long)st.st_mtim.tv_sec * 1000000000LL +
                                               (long long)st.st_mtim.tv_nsec;
            n++;
        }
        closedir(dir);
    }
    Py_END_ALLOW_THREADS
    Py_DECREF(path_b);
    PyObject *out = NULL, *files = NULL, *sizes = NULL, *mtimes = NULL, *dirs = NULL;
    if (oom) { PyErr_NoMemory(); goto finish; }
    if (!dir) { out = Py_None; Py_INCREF(out); goto finish; }
    files = PyList_New(0); sizes = PyList_New(0); mtimes = PyList_New(0); dirs = PyList_New(0);
    if (!files || !sizes || !mtimes || !dirs) goto finish;
    /* folders in the order they are listed (os.walk's, which decides which of two links
     * to one folder is walked), files by name (the scan's final sort then finds runs) */
    for (size_t i = 0; i < n; i++) {
        if (!items[i].is_dir) continue;
        PyObject *name = PyUnicode_DecodeFSDefault(items[i].name);
        int bad = !name || PyList_Append(dirs, name) < 0;
        Py_XDECREF(name);
        if (bad) goto finish;
    }
    qsort(items, n, sizeof(DirItem), cmp_dir_item);
    for (size_t i = 0; i < n; i++) {
        if (items[i].is_dir) continue;
        PyObject *name = PyUnicode_DecodeFSDefault(items[i].name);
        PyObject *size = PyLong_FromLongLong(items[i].size);
        PyObject *mtime = PyLong_FromLongLong(items[i].mtime);
        int bad = !name || !size || !mtime || PyList_Append(files, name) < 0 ||
                  PyList_Append(sizes, size) < 0 || PyList_Append(mtimes, mtime) < 0;
        Py_XDECREF(name);
        Py_XDECREF(size);
        Py_XDECREF(mtime);
        if (bad) goto finish;
    }
    out = Py_BuildValue("(OOOO)", files, sizes, mtimes, dirs);
finish:
    for (size_t i = 0; i < n; i++) free(items[i].name);
    free(items);
    Py_XDECREF(files); Py_XDECREF(sizes); Py_XDECREF(mtimes); Py_XDECREF(dirs);
    return out;
#else
    Py_RETURN_NONE;
#endif
}

/* --- building: counting chunks' terms, inverting them into postings -------------------- */

/* count_terms(ids, lengths, n_terms, term_idx, tfs, per_doc) -> postings written
 *   ids: int32 term id of every token, chunk after chunk; lengths: int32 tokens per chunk
 *   writes each chunk's distinct terms (first-seen order) with their counts to term_idx and
 *   tfs (int32, as long as ids) and their number to per_doc (int32 per chunk) */
static PyObject *py_count_terms(PyObject *self, PyObject *args) {
    PyObject *ids_o, *len_o, *ti_o, *tf_o, *pd_o;
    long long n_terms;
    if (!PyArg_ParseTuple(args, "OOLOOO", &ids_o, &len_o, &n_terms, &ti_o, &tf_o, &pd_o)) return NULL;
    Py_buffer ids, lens, ti, tf, pd;
    if (PyObject_GetBuffer(ids_o, &ids, PyBUF_SIMPLE) < 0) return NULL;
    if (PyObject_GetBuffer(len_o, &lens, PyBUF_SIMPLE) < 0) { PyBuffer_Release(&ids); return NULL; }
    if (PyObject_GetBuffer(ti_o, &ti, PyBUF_WRITABLE) < 0) { PyBuffer_Release(&ids); PyBuffer_Release(&lens); return NULL; }
    if (PyObject_GetBuffer(tf_o, &tf, PyBUF_WRITABLE) < 0) { PyBuffer_Release(&ids); PyBuffer_Release(&lens); PyBuffer_Release(&ti); return NULL; }
    if (PyObject_GetBuffer(pd_o, &pd, PyBUF_WRITABLE) < 0) { PyBuffer_Release(&ids); PyBuffer_Release(&lens); PyBuffer_Release(&ti); PyBuffer_Release(&tf); return NULL; }
    Py_ssize_t n_tok = ids.len / 4, n_docs = lens.len / 4;
    const int32_t *id = ids.buf, *ln = lens.buf;
    int32_t *o_ti = ti.buf, *o_tf = tf.buf, *o_pd = pd.buf;
    int64_t *last = NULL, *slot = NULL;
    int bad = ti.len / 4 < n_tok || tf.len / 4 < n_tok || pd.len / 4 < n_docs || n_terms < 0;
    Py_ssize_t out = 0;
    if (!bad && n_terms > 0) {
        last = malloc((size_t)n_terms * sizeof(int64_t));
        slot = malloc((size_t)n_terms * sizeof(int64_t));
        if (!last || !slot) { bad = 2; }
        else for (int64_t t = 0; t < n_terms; t++) last[t] = -1;
    }
    Py_ssize_t pos = 0;
    for (Py_ssize_t d = 0; d < n_docs && !bad; d++) {
        Py_ssize_t first = out;
        if (ln[d] < 0 || pos + ln[d] > n_tok) { bad = 1; break; }
        for (int32_t j = 0; j < ln[d]; j++, pos++) {
            int32_t t = id[pos];
            if (t < 0 || t >= n_terms) { bad = 1; break; }
            if (last[t] != d) { last[t] = d; slot[t] = out; o_ti[out] = t; o_tf[out] = 1; out++; }
            else o_tf[slot[t]]++;
        }
        o_pd[d] = (int32_t)(out - first);
    }
    free(last); free(slot);
    PyBuffer_Release(&ids); PyBuffer_Release(&lens); PyBuffer_Release(&ti); PyBuffer_Release(&tf); PyBuffer_Release(&pd);
    if (bad == 2) return PyErr_NoMemory();
    if (bad) { PyErr_SetString(PyExc_ValueError, "count_terms: arrays do not fit together"); return NULL; }
    return PyLong_FromSsize_t(out);
}

/* invert(term_ids, new_id, per_doc, tfs, indptr, doc_ids, out_tfs, tf_size)
 *   postings listed chunk by chunk (term_ids, tfs: int32; per_doc: int32 per chunk) go
 *   to their term new_id[t] (int32; the postings of a term with new id r fill
 *   indptr[r]:indptr[r + 1], int64) in chunk order: doc_ids (int32) and out_tfs (tf_size
 *   bytes each), a counting sort, stable */
static PyObject *py_invert(PyObject *self, PyObject *args) {
    PyObject *o[7];
    int tf_size;
    if (!PyArg_ParseTuple(args, "OOOOOOOi", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &tf_size)) return NULL;
    Py_buffer b[7];
    int got = 0;
    for (; got < 7; got++) {
        int flags = got >= 5 ? PyBUF_WRITABLE : PyBUF_SIMPLE;
        if (PyObject_GetBuffer(o[got], &b[got], flags) < 0) break;
    }
    if (got < 7) { for (int i = 0; i < got; i++) PyBuffer_Release(&b[i]); return NULL; }
    Py_ssize_t n = b[0].len / 4, n_old = b[1].len / 4, n_docs = b[2].len / 4;
    Py_ssize_t n_new = b[4].len / 8 - 1;
    const int32_t *term = b[0].buf, *new_id = b[1].buf, *per_doc = b[2].buf, *tfs = b[3].buf;
    const int64_t *indptr = b[4].buf;
    int32_t *docs = b[5].buf;
    int bad = (tf_size != 1 && tf_size != 2 && tf_size != 4) || b[3].len / 4 != n ||
              b[5].len / 4 < n || b[6].len / (tf_size ? tf_size : 1) < n || n_new < 0;
    int64_t *cursor = NULL;
    if (!bad) {
        cursor = malloc((size_t)(n_new + 1) * sizeof(int64_t));
        if (!cursor) bad = 2;
        else memcpy(cursor, indptr, (size_t)(n_new + 1) * sizeof(int64_t));
    }
    Py_ssize_t p = 0;
    for (Py_ssize_t d = 0; d < n_docs && !bad; d++) {
        for (int32_t j = 0; j < per_doc[d]; j++, p++) {
            if (p >= n) { bad = 1; break; }
            int32_t t = term[p];
            if (t < 0 || t >= n_old) { bad = 1; break; }
            int32_t r = new_id[t];
            if (r < 0 || r >= n_new || cursor[r] >= indptr[r + 1]) { bad = 1; break; }
            int64_t q = cursor[r]++;
            docs[q] = (int32_t)d;
            switch (tf_size) {
            case 1: ((uint8_t *)b[6].buf)[q] = (uint8_t)tfs[p]; break;
            case 2: ((uint16_t *)b[6].buf)[q] = (uint16_t)tfs[p]; break;
            default: ((uint32_t *)b[6].buf)[q] = (uint32_t)tfs[p]; break;
            }
        }
    }
    if (!bad && p != n) bad = 1;
    free(cursor);
    for (int i = 0; i < 7; i++) PyBuffer_Release(&b[i]);
    if (bad == 2) return PyErr_NoMemory();
    if (bad) { PyErr_SetString(PyExc_ValueError, "invert: arrays do not fit together"); return NULL; }
    Py_RETURN_NONE;
}

/* --- words: index.tokenize's _TOKEN.findall for ASCII text ---------------------------- */

/* The pattern, read for ASCII (where \w is [A-Za-z0-9_], \d [0-9], \s the ASCII spaces
 * Python's str.isspace knows, 9-13 and 28-32):
 *   (?:https?|ftp)://[^\s<>"'`)\]]+ | www\.[^\s<>"'`)\]]+
 *   | (?<![\w=<>!~^])(?:\^|~=?|[<>]=?|==|!=)\d+(?:\.\d+)*(?:\.\*)? | \d+(?:[.,]\d+)*
 *   | (?:(?<![\w-])--?(?=[A-Za-z]))?[A-Za-z0-9]+(?:['._-]+[A-Za-z0-9]+)*
 * tried in that order at each position, as re.findall does (no alternative matches the
 * empty string, so a match always moves the scan forward). tests/test_tokenize.py checks
 * it against the regex on generated text. */

static inline int is_alnum(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
static inline int is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline int is_word(unsigned char c) { return is_alnum(c) || c == '_'; }
static inline int is_url_stop(unsigned char c) {
    return (c >= 9 && c <= 13) || (c >= 28 && c <= 32) || c == '<' || c == '>' || c == '"' ||
           c == '\'' || c == '`' || c == ')' || c == ']';
}

static inline int is_spec_start(unsigned char c) {
    return c == '^' || c == '~' || c == '<' || c == '>' || c == '=' || c == '!';
}

/* end of a version requirement ("^1.2.3", "~=1.2", ">=2.0", "!=4.1.*") at i, or -1:
 * the operators tried longest first, as the regex backtracks from "~=" to "~" */
static Py_ssize_t spec_at(const unsigned char *t, Py_ssize_t n, Py_ssize_t i) {
    if (i > 0 && (is_word(t[i - 1]) || is_spec_start(t[i - 1]))) return -1;
    unsigned char c = t[i];
    Py_ssize_t ops[2];
    int n_ops = 0;
    if (c == '^') {
        ops[n_ops++] = i + 1;
    } else if (c == '~' || c == '<' || c == '>') {
        if (i + 1 < n && t[i + 1] == '=') ops[n_ops++] = i + 2;
        ops[n_ops++] = i + 1;
    } else if ((c == '=' || c == '!') && i + 1 < n && t[i + 1] == '=') {
        ops[n_ops++] = i + 2;
    }
    for (int o = 0; o < n_ops; o++) {
        Py_ssize_t j = ops[o];
        if (!(j < n && is_digit(t[j]))) continue;
        while (j < n && is_digit(t[j])) j++;
        while (j + 1 < n && t[j] == '.' && is_digit(t[j + 1])) {
            j += 2;
            while (j < n && is_digit(t[j])) j++;
        }
        if (j + 1 < n && t[j] == '.' && t[j + 1] == '*') j += 2;
        return j;
    }
    return -1;
}

/* end of the match at i, or -1 */
static Py_ssize_t word_at(const unsigned char *t, Py_ssize_t n, Py_ssize_t i) {
    unsigned char c = t[i];
    Py_ssize_t j;
    /* URLs */
    j = -1;
    if (c == 'h' && n - i >= 7 && memcmp(t + i, "http", 4) == 0) {
        if (memcmp(t + i + 4, "://", 3) == 0) j = i + 7;
        else if (n - i >= 8 && memcmp(t + i + 4, "s://", 4) == 0) j = i + 8;
    } else if (c == 'f' && n - i >= 6 && memcmp(t + i, "ftp://", 6) == 0) {
        j = i + 6;
    }
    if (j >= 0) {
        Py_ssize_t k = j;
        while (k < n && !is_url_stop(t[k])) k++;
        if (k > j) return k;
    }
    if (c == 'w' && n - i >= 4 && memcmp(t + i, "www.", 4) == 0) {
        Py_ssize_t k = i + 4;
        while (k < n && !is_url_stop(t[k])) k++;
        if (k > i + 4) return k;
    }
    /* numbers */
    if (is_digit(c)) {
        j = i + 1;
        while (j < n && is_digit(t[j])) j++;
        while (j + 1 < n && (t[j] == '.' || t[j] == ',') && is_digit(t[j + 1])) {
            j += 2;
            while (j < n && is_digit(t[j])) j++;
        }
        return j;
    }
    /* words, with the dashes of an option */
    j = i;
    if (c == '-' && (i == 0 || !(is_word(t[i - 1]) || t[i - 1] == '-'))) {
        if (i + 2 < n && t[i + 1] == '-' && is_alpha(t[i + 2])) j = i + 2;
        else if (i + 1 < n && is_alpha(t[i + 1])) j = i + 1;
    }
    if (!(j < n && is_alnum(t[j]))) return -1;
    while (j < n && is_alnum(t[j])) j++;
    for (;;) {
        Py_ssize_t k = j;
        while (k < n && (t[k] == '\'' || t[k] == '.' || t[k] == '_' || t[k] == '-')) k++;
        if (k == j || k >= n || !is_alnum(t[k])) break;
        j = k;
        while (j < n && is_alnum(t[j])) j++;
    }
    return j;
}

static PyObject *py_ascii_words(PyObject *self, PyObject *arg) {
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "ascii_words takes a str");
        return NULL;
    }
    if (PyUnicode_READY(arg) < 0) return NULL;
    if (!PyUnicode_IS_ASCII(arg)) Py_RETURN_NONE;
    const unsigned char *t = PyUnicode_1BYTE_DATA(arg);
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    Py_ssize_t i = 0;
    while (i < n) {
        unsigned char c = t[i];
        Py_ssize_t end;
        if (is_spec_start(c)) end = spec_at(t, n, i); /* (no other alternative starts so) */
        else if (is_alnum(c) || c == '-') end = word_at(t, n, i);
        else { i++; continue; }
        if (end < 0) { i++; continue; }
        PyObject *w = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, t + i, end - i);
        if (!w || PyList_Append(out, w) < 0) { Py_XDECREF(w); Py_DECREF(out); return NULL; }
        Py_DECREF(w);
        i = end;
    }
    return out;
}

/* --- search ------------------------------------------------------------------------ */

typedef struct {
    Buf blob, offsets, indptr, docs, tfs, doc_len, max_tf, deleted, del_terms, del_counts, rank, norm;
    int tf_size;
    int64_t n_terms, n_docs, n_del_terms;
    int64_t base;
    int32_t min_len;
} Segment;

typedef struct {
    int64_t lo, hi;     /* postings range in the segment, hi == lo when absent */
    double ub;          /* upper bound of what the term adds above the floor */
    int q;              /* index of the term in the question's order */
} SegTerm;

typedef struct {
    int64_t gid;
    int seg;
    int32_t local;
    double approx;
} Hit;

static inline uint32_t tf_at(const Segment *s, int64_t p) {
    switch (s->tf_size) {
    case 1: return ((const uint8_t *)s->tfs.view.buf)[p];
    case 2: return ((const uint16_t *)s->tfs.view.buf)[p];
    default: return ((const uint32_t *)s->tfs.view.buf)[p];
    }
}

static inline double norm_of(int32_t dl, double k1, double b, double avgdl) {
    return k1 * ((1.0 - b) + (b * (double)dl) / avgdl);
}

static inline double impact(uint32_t tf, double norm, double k1, double wi) {
    double t = (double)tf;
    double x = t * (k1 + 1.0);
    x = x / (norm + t);
    return x * wi;
}

static int32_t del_count(const Segment *s, int64_t term) {
    if (!s->n_del_terms) return 0;
    const int32_t *terms = s->del_terms.view.buf;
    int64_t lo = 0, hi = s->n_del_terms;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (terms[mid] < term) lo = mid + 1; else hi = mid;
    }
    if (lo < s->n_del_terms && terms[lo] == term) return ((const int32_t *)s->del_counts.view.buf)[lo];
    return 0;
}

/* position of doc in docs[lo:hi] at or after *from (galloping), or -1 */
static int64_t gallop(const int32_t *docs, int64_t *from, int64_t hi, int32_t doc) {
    int64_t lo = *from, step = 1, probe = lo;
    while (probe < hi && docs[probe] < doc) {
        lo = probe + 1;
        probe = lo + step;
        step <<= 1;
    }
    if (probe > hi) probe = hi;
    /* docs[lo-1] < doc, answer in [lo, probe] */
    int64_t a = lo, b = probe;
    while (a < b) {
        int64_t mid = a + (b - a) / 2;
        if (docs[mid] < doc) a = mid + 1; else b = mid;
    }
    *from = a;
    return (a < hi && docs[a] == doc) ? a : -1;
}

/* chunks per window: a window's accumulators (9 bytes a chunk) stay in the L2 cache */
#define WINDOW 16384

/* scratch kept between calls; the GIL is held throughout, so one caller at a time */
static double *g_acc = NULL;
static uint64_t *g_seen = NULL; /* a bit per chunk of the window */
static int64_t g_cap = 0;

static int ensure_scratch(int64_t n) {
    if (n <= g_cap) return 0;
    double *acc = calloc((size_t)n, sizeof(double));
    uint64_t *seen = calloc((size_t)(n + 63) / 64, sizeof(uint64_t));
    if (!acc || !seen) {
        free(acc); free(seen);
        PyErr_NoMemory();
        return -1;
    }
    free(g_acc); free(g_seen);
    g_acc = acc; g_seen = seen; g_cap = n;
    return 0;
}

/* min-heap of the k best approximate scores seen, to know the k-th (theta) */
typedef struct {
    double *v;
    int64_t n, k;
} TopHeap;

static void heap_push(TopHeap *h, double x) {
    if (h->n < h->k) {
        int64_t i = h->n++;
        h->v[i] = x;
        while (i > 0) {
            int64_t p = (i - 1) / 2;
            if (h->v[p] <= h->v[i]) break;
            double t = h->v[p]; h->v[p] = h->v[i]; h->v[i] = t; i = p;
        }
    } else if (x > h->v[0]) {
        h->v[0] = x;
        int64_t i = 0;
        for (;;) {
            int64_t l = 2 * i + 1, r = l + 1, m = i;
            if (l < h->n && h->v[l] < h->v[m]) m = l;
            if (r < h->n && h->v[r] < h->v[m]) m = r;
            if (m == i) break;
            double t = h->v[m]; h->v[m] = h->v[i]; h->v[i] = t; i = m;
        }
    }
}

static double heap_theta(const TopHeap *h) { return h->n < h->k ? -1.0 : h->v[0]; }

/* scores that agree this closely are treated as possible ties and rescored exactly */
static inline double slack(double theta) { return theta > 0 ? theta * 1e-9 : 0.0; }

static int cmp_sterm_up(const void *a, const void *b) {
    double x = ((const SegTerm *)a)->ub, y = ((const SegTerm *)b)->ub;
    return (x > y) - (x < y);
}

/* move a cursor to the first posting at or after chunk doc (galloping) */
static void skip_to(const int32_t *docs, int64_t *from, int64_t hi, int32_t doc) {
    if (*from < hi && docs[*from] < doc) gallop(docs, from, hi, doc);
}

typedef struct { int64_t gid; double score; } Result;

static int cmp_result(const void *a, const void *b) {
    const Result *x = a, *y = b;
    if (x->score != y->score) return (x->score < y->score) - (x->score > y->score);
    return (x->gid > y->gid) - (x->gid < y->gid);
}

static int parse_segment(PyObject *tuple, Segment *s) {
    PyObject *o[12];
    long long base;
    int tf_size, min_len;
    memset(s, 0, sizeof(*s));
    if (!PyArg_ParseTuple(tuple, "OOOOOiOOOOOOLiO:segment", &o[0], &o[1], &o[2], &o[3], &o[4],
                          &tf_size, &o[5], &o[6], &o[7], &o[8], &o[9], &o[10], &base, &min_len,
                          &o[11]))
        return -1;
    if (tf_size != 1 && tf_size != 2 && tf_size != 4) {
        PyErr_SetString(PyExc_ValueError, "term frequencies must be 1, 2 or 4 bytes");
        return -1;
    }
    Buf *bufs[12] = {&s->blob, &s->offsets, &s->indptr, &s->docs, &s->tfs, &s->doc_len,
                     &s->max_tf, &s->deleted, &s->del_terms, &s->del_counts, &s->rank, &s->norm};
    Py_ssize_t sizes[12] = {1, 8, 8, 4, tf_size, 4, 4, 1, 4, 4, 4, 8};
    for (int i = 0; i < 12; i++) {
        if (get_buf(o[i], bufs[i], sizes[i], "segment") < 0) {
            for (int j = 0; j < i; j++) release(bufs[j]);
            return -1;
        }
    }
    s->tf_size = tf_size;
    s->n_terms = s->indptr.view.len / 8 - 1;
    s->n_docs = s->doc_len.view.len / 4;
    s->n_del_terms = s->del_terms.view.len / 4;
    s->base = base;
    s->min_len = min_len;
    int bad = s->n_terms < 0 || s->offsets.view.len / 8 != s->n_terms + 1 ||
              s->docs.view.len / 4 != s->tfs.view.len / tf_size ||
              s->max_tf.view.len / 4 != s->n_terms ||
              (s->deleted.view.buf && s->deleted.view.len != s->n_docs) ||
              (s->rank.view.buf && s->rank.view.len / 4 != s->n_docs) ||
              s->del_counts.view.len / 4 != s->n_del_terms ||
              (s->norm.view.buf && s->norm.view.len / 8 != s->n_docs);
    if (!bad && s->n_terms >= 0) {
        const int64_t *ptr = s->indptr.view.buf;
        bad = ptr[0] != 0 || ptr[s->n_terms] != s->docs.view.len / 4;
    }
    if (bad) {
        for (int j = 0; j < 12; j++) release(bufs[j]);
        PyErr_SetString(PyExc_ValueError, "segment arrays do not fit together");
        return -1;
    }
    return 0;
}

static void release_segment(Segment *s) {
    Buf *bufs[12] = {&s->blob, &s->offsets, &s->indptr, &s->docs, &s->tfs, &s->doc_len,
                     &s->max_tf, &s->deleted, &s->del_terms, &s->del_counts, &s->rank, &s->norm};
    for (int i = 0; i < 12; i++) release(bufs[i]);
}

/* search(terms, weights, k, segments, n_live, total_len, k1, b, delta, prune)
 *   terms: list of distinct bytes in the question's order; weights: their summed weights
 *   segments: list of tuples (see parse_segment) in global-id order
 * -> list of (global id, score), best first, ties to the lower id; only chunks that hold
 *    a question term. */
static PyObject *py_search(PyObject *self, PyObject *args) {
    PyObject *terms_o, *weights_o, *segs_o;
    long long k_ll, n_live, total_len;
    double k1, b, delta;
    int prune;
    if (!PyArg_ParseTuple(args, "OOLOLLdddp", &terms_o, &weights_o, &k_ll, &segs_o, &n_live,
                          &total_len, &k1, &b, &delta, &prune))
        return NULL;
    if (!PyList_Check(terms_o) || !PyList_Check(weights_o) || !PyList_Check(segs_o) ||
        PyList_GET_SIZE(terms_o) != PyList_GET_SIZE(weights_o)) {
        PyErr_SetString(PyExc_TypeError, "terms, weights and segments must be lists");
        return NULL;
    }
    int nq = (int)PyList_GET_SIZE(terms_o);
    int ns = (int)PyList_GET_SIZE(segs_o);
    PyObject *result = PyList_New(0);
    if (!result) return NULL;
    if (k_ll <= 0 || nq == 0 || ns == 0 || n_live <= 0) return result;

    Segment *segs = calloc((size_t)ns, sizeof(Segment));
    int64_t *ids = calloc((size_t)ns * nq, sizeof(int64_t)); /* term id per segment, -1 */
    double *wi = calloc((size_t)nq, sizeof(double));
    SegTerm *st = calloc((size_t)nq, sizeof(SegTerm));
    double *rem = calloc((size_t)nq + 1, sizeof(double));
    Hit *pool = NULL;
    int64_t pool_n = 0, pool_cap = 0;
    double *heapv = NULL;
    int parsed = 0, failed = 0;
    if (!segs || !ids || !wi || !st || !rem) { PyErr_NoMemory(); failed = 1; goto done; }
    for (; parsed < ns; parsed++) {
        if (parse_segment(PyList_GET_ITEM(segs_o, parsed), &segs[parsed]) < 0) { failed = 1; goto done; }
    }
    double avgdl = (double)total_len / (double)n_live;
    if (avgdl == 0.0) avgdl = 1.0;

    /* document frequencies over the live chunks, hence IDFs and the BM25+ floor */
    double base_score = 0.0;
    int any = 0;
    for (int q = 0; q < nq; q++) {
        PyObject *t = PyList_GET_ITEM(terms_o, q);
        char *bytes;
        Py_ssize_t len;
        if (PyBytes_AsStringAndSize(t, &bytes, &len) < 0) { failed = 1; goto done; }
        double w = PyFloat_AsDouble(PyList_GET_ITEM(weights_o, q));
        if (w == -1.0 && PyErr_Occurred()) { failed = 1; goto done; }
        int64_t df = 0;
        for (int s = 0; s < ns; s++) {
            Segment *g = &segs[s];
            int64_t id = g->n_terms > 0 ? find_term(g->blob.view.buf, g->offsets.view.buf, g->n_terms, bytes, len) : -1;
            ids[(int64_t)s * nq + q] = id;
            if (id >= 0) {
                const int64_t *ptr = g->indptr.view.buf;
                df += (ptr[id + 1] - ptr[id]) - del_count(g, id);
            }
        }
        if (df > 0) {
            double idf = log((double)(n_live + 1) / (double)df);
            wi[q] = w * idf;
            base_score += wi[q] * delta;
            any = 1;
            if (!(wi[q] > 0.0)) prune = 0; /* MaxScore's bounds need weights above zero */
        } else {
            wi[q] = 0.0;
            for (int s = 0; s < ns; s++) ids[(int64_t)s * nq + q] = -1;
        }
    }
    if (!any) goto done;

    int64_t k = k_ll;
    heapv = malloc((size_t)k * sizeof(double));
    if (!heapv) { PyErr_NoMemory(); failed = 1; goto done; }
    TopHeap heap = {heapv, 0, k};

    for (int s = 0; s < ns; s++) {
        Segment *g = &segs[s];
        if (g->n_docs == 0) continue;
        if (ensure_scratch(WINDOW) < 0) { failed = 1; goto done; }
        const int64_t *ptr = g->indptr.view.buf;
        const int32_t *docs = g->docs.view.buf;
        const int32_t *dl = g->doc_len.view.buf;
        const uint32_t *maxtf = g->max_tf.view.buf;
        const uint8_t *del = g->deleted.view.buf;
        const int32_t *rank = g->rank.view.buf;
        const double *nrm = g->norm.view.buf; /* the chunks' length norms, when cached */
#define NORM(d) (nrm ? nrm[d] : norm_of(dl[d], k1, b, avgdl))
        double norm_min = norm_of(g->min_len, k1, b, avgdl);
        int nt = 0;
        for (int q = 0; q < nq; q++) {
            int64_t id = ids[(int64_t)s * nq + q];
            if (id < 0 || ptr[id + 1] == ptr[id]) continue;
            st[nt].lo = ptr[id];
            st[nt].hi = ptr[id + 1];
            st[nt].q = q;
            st[nt].ub = impact(maxtf[id], norm_min, k1, wi[q]);
            nt++;
        }
        if (!nt) continue;
        /* lowest bound first: the terms that cannot lift a chunk to the k-th best on their
         * own come first, and their bounds' running sums say how far */
        qsort(st, (size_t)nt, sizeof(SegTerm), cmp_sterm_up);
        rem[0] = 0.0;
        for (int i = 0; i < nt; i++) rem[i + 1] = rem[i] + st[i].ub;
        /* a little headroom: the bound's own rounding must never prune a real candidate */
        for (int i = 0; i <= nt; i++) rem[i] *= 1.0 + 1e-12;

        /* the segment in windows of chunk ids: the accumulators of a window stay in cache */
        for (int64_t ws = 0; ws < g->n_docs; ws += WINDOW) {
            int64_t we = ws + WINDOW < g->n_docs ? ws + WINDOW : g->n_docs;
            double theta = heap_theta(&heap);
            double cut = theta >= 0 ? theta - slack(theta) : -1.0;
            /* non-essential terms: the lowest bounds, together too low to reach the cut */
            int ne = 0;
            if (prune && theta >= 0)
                while (ne < nt && rem[ne + 1] < cut) ne++;
            if (ne == nt) { /* no chunk of the window can reach the cut */
                for (int i = 0; i < nt; i++) skip_to(docs, &st[i].lo, st[i].hi, (int32_t)we);
                continue;
            }
            for (int i = ne; i < nt; i++) {
                double w = wi[st[i].q];
                int64_t p = st[i].lo, hi = st[i].hi;
                for (; p < hi && docs[p] < we; p++) {
                    int32_t d = docs[p];
                    if (del && del[d]) continue;
                    int32_t x = (int32_t)(d - ws);
                    g_seen[x >> 6] |= (uint64_t)1 << (x & 63);
                    g_acc[x] += impact(tf_at(g, p), NORM(d), k1, w);
                }
                st[i].lo = p;
            }
            /* the window's chunks in ascending order: the non-essential terms' postings
             * are looked up (galloping) for those that can still reach the cut */
            int32_t n_words = (int32_t)((we - ws + 63) / 64);
            for (int32_t wd = 0; wd < n_words; wd++) {
              uint64_t bits = g_seen[wd];
              g_seen[wd] = 0;
              while (bits) {
                int32_t x = wd * 64 + __builtin_ctzll(bits);
                bits &= bits - 1;
                double a = g_acc[x];
                g_acc[x] = 0.0;
                int32_t d = (int32_t)(ws + x);
                if (ne > 0) {
                    int keep = 1;
                    for (int i = ne - 1; i >= 0; i--) {
                        if (a + rem[i + 1] < cut) { keep = 0; break; }
                        int64_t p = gallop(docs, &st[i].lo, st[i].hi, d);
                        if (p >= 0) a += impact(tf_at(g, p), NORM(d), k1, wi[st[i].q]);
                    }
                    if (!keep) continue;
                }
                if (theta >= 0 && a < cut) continue;
                heap_push(&heap, a);
                theta = heap_theta(&heap);
                if (theta >= 0) cut = theta - slack(theta);
                if (pool_n == pool_cap) {
                    int64_t cap = pool_cap ? pool_cap * 2 : 64;
                    Hit *grown = realloc(pool, (size_t)cap * sizeof(Hit));
                    if (!grown) { PyErr_NoMemory(); failed = 1; goto done; }
                    pool = grown; pool_cap = cap;
                }
                pool[pool_n].gid = g->base + (rank ? rank[d] : d);
                pool[pool_n].seg = s;
                pool[pool_n].local = d;
                pool[pool_n].approx = a;
                pool_n++;
              }
            }
            for (int i = 0; i < ne; i++) skip_to(docs, &st[i].lo, st[i].hi, (int32_t)we);
        }
#undef NORM
    }

    /* rescore the survivors exactly, in the question's order, as get_scores adds them */
    {
        double theta = heap_theta(&heap);
        Result *res = malloc((size_t)(pool_n ? pool_n : 1) * sizeof(Result));
        if (!res) { PyErr_NoMemory(); failed = 1; goto done; }
        int64_t n_res = 0;
        for (int64_t j = 0; j < pool_n; j++) {
            Hit *h = &pool[j];
            if (theta >= 0 && h->approx < theta - slack(theta)) continue;
            Segment *g = &segs[h->seg];
            const int64_t *ptr = g->indptr.view.buf;
            const int32_t *docs = g->docs.view.buf;
            double norm = norm_of(((const int32_t *)g->doc_len.view.buf)[h->local], k1, b, avgdl);
            double score = base_score;
            for (int q = 0; q < nq; q++) {
                int64_t id = ids[(int64_t)h->seg * nq + q];
                if (id < 0) continue;
                int64_t from = ptr[id];
                int64_t p = gallop(docs, &from, ptr[id + 1], h->local);
                if (p >= 0) score += impact(tf_at(g, p), norm, k1, wi[q]);
            }
            res[n_res].gid = h->gid;
            res[n_res].score = score;
            n_res++;
        }
        qsort(res, (size_t)n_res, sizeof(Result), cmp_result);
        if (n_res > k) n_res = k;
        for (int64_t j = 0; j < n_res && !failed; j++) {
            PyObject *pair = Py_BuildValue("(Ld)", (long long)res[j].gid, res[j].score);
            if (!pair || PyList_Append(result, pair) < 0) failed = 1;
            Py_XDECREF(pair);
        }
        free(res);
    }

done:
    if (failed && g_cap) { /* stopped inside a window: the scratch must start clean next time */
        memset(g_acc, 0, (size_t)g_cap * sizeof(double));
        memset(g_seen, 0, (size_t)(g_cap + 63) / 64 * sizeof(uint64_t));
    }
    for (int s = 0; s < parsed; s++) release_segment(&segs[s]);
    free(segs); free(ids); free(wi); free(st); free(rem); free(pool); free(heapv);
    if (failed) {
        Py_DECREF(result);
        return NULL;
    }
    return result;
}

static PyMethodDef methods[] = {
    {"lookup", py_lookup, METH_VARARGS, "lookup(blob, offsets, term) -> term id or -1"},
    {"count_marked", py_count_marked, METH_VARARGS,
     "count_marked(indptr, doc_ids, mask, out): postings per term whose chunk is marked"},
    {"list_dir", py_list_dir, METH_O,
     "list_dir(path) -> (file names, sizes, mtimes in ns, folder names) or None"},
    {"count_terms", py_count_terms, METH_VARARGS,
     "count_terms(ids, lengths, n_terms, term_idx, tfs, per_doc) -> postings written"},
    {"invert", py_invert, METH_VARARGS,
     "invert(term_ids, new_id, per_doc, tfs, indptr, doc_ids, out_tfs, tf_size)"},
    {"ascii_words", py_ascii_words, METH_O,
     "ascii_words(text) -> index.tokenize's _TOKEN.findall(text), or None for non-ASCII text"},
    {"search", py_search, METH_VARARGS,
     "search(terms, weights, k, segments, n_live, total_len, k1, b, delta, prune)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernel",
                                    "docqa's compiled query kernel", -1, methods};

PyMODINIT_FUNC PyInit__kernel(void) { return PyModule_Create(&module); }
