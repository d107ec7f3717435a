/* Compiled inner loops of /detect (runtime/aiops/kernels.py loads them; numpy code stands in without them).

   forest_depths: every point's path length summed over all trees of a forest laid out as
   runtime.aiops.forest.ForestTables does, the same arithmetic as its numpy walk (float32 comparisons,
   float64 sum over the trees in order), so scores are bit-identical either way.

   float_pairs: a decoded JSON list of [number, number] pairs into a float64 buffer in one pass, or
   False when any pair is anything else (the caller then lets the validation model explain why).

   join_points: interleaves equally long JSON arrays of numbers into one JSON array of objects, the
   keys' fragments written between them, without a Python object per number.

   All check their arguments' sizes and indices before touching memory; those that touch no Python
   object run without the GIL. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#define MAX_DEPTH 40

static int check_size(const Py_buffer *buffer, Py_ssize_t items, Py_ssize_t item_size, const char *name) {
    if (items < 0 || items > PY_SSIZE_T_MAX / item_size || buffer->len != items * item_size) {
        PyErr_Format(PyExc_ValueError, "%s holds %zd bytes, expected %zd items of %zd bytes",
                     name, buffer->len, items, item_size);
        return -1;
    }
    return 0;
}

#define BLOCK 16

/* One tree, one level at a time, for up to BLOCK points: their paths are independent, so the
   processor overlaps their loads instead of waiting on one path's chain of lookups. */
static inline void walk_block(const float *x, Py_ssize_t first, Py_ssize_t count, Py_ssize_t n_features,
                              const int32_t *features, const float *thresholds, const double *bottom,
                              Py_ssize_t tree, Py_ssize_t n_trees, Py_ssize_t depth, double *out) {
    Py_ssize_t position[BLOCK];
    const float *row[BLOCK];
    for (Py_ssize_t j = 0; j < count; j++) {
        position[j] = tree;
        row[j] = x + (first + j) * n_features;
    }
    Py_ssize_t level_start = 0, level_width = n_trees;
    for (Py_ssize_t level = 0; level < depth; level++) {
        const int32_t *level_features = features + level_start;
        const float *level_thresholds = thresholds + level_start;
        for (Py_ssize_t j = 0; j < count; j++) {
            Py_ssize_t node = position[j];
            position[j] = 2 * node + (row[j][level_features[node]] > level_thresholds[node]);
        }
        level_start += level_width;
        level_width *= 2;
    }
    for (Py_ssize_t j = 0; j < count; j++) {
        out[first + j] += bottom[position[j]];
    }
}

/* Tree after tree, so one tree's nodes stay in the fastest cache while every point walks it; each
   point's total adds the trees in order, as the numpy walk's sum does. */
static void walk(const float *x, Py_ssize_t n_points, Py_ssize_t n_features, const int32_t *features,
                 const float *thresholds, const double *bottom, Py_ssize_t n_trees, Py_ssize_t depth, double *out) {
    for (Py_ssize_t i = 0; i < n_points; i++) {
        out[i] = 0.0;
    }
    Py_ssize_t full = n_points - n_points % BLOCK;
    for (Py_ssize_t tree = 0; tree < n_trees; tree++) {
        for (Py_ssize_t first = 0; first < full; first += BLOCK) {
            walk_block(x, first, BLOCK, n_features, features, thresholds, bottom, tree, n_trees, depth, out);
        }
        if (full < n_points) {
            walk_block(x, full, n_points - full, n_features, features, thresholds, bottom, tree, n_trees, depth, out);
        }
    }
}

static PyObject *forest_depths(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer x, features, thresholds, bottom, out;
    Py_ssize_t n_features, n_trees, depth;
    if (!PyArg_ParseTuple(args, "y*ny*y*y*nnw*:forest_depths", &x, &n_features, &features, &thresholds, &bottom,
                          &n_trees, &depth, &out)) {
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t n_points = out.len / (Py_ssize_t)sizeof(double);
    if (n_features < 1 || n_trees < 1 || depth < 0 || depth > MAX_DEPTH || n_trees > PY_SSIZE_T_MAX >> (depth + 4)
        || n_points > PY_SSIZE_T_MAX / n_features) {
        PyErr_SetString(PyExc_ValueError, "n_features and n_trees must be positive, depth within 0..40");
        goto done;
    }
    Py_ssize_t inner = n_trees * (((Py_ssize_t)1 << depth) - 1);
    if (check_size(&out, n_points, sizeof(double), "out") || check_size(&x, n_points * n_features, sizeof(float), "x")
        || check_size(&features, inner, sizeof(int32_t), "features")
        || check_size(&thresholds, inner, sizeof(float), "thresholds")
        || check_size(&bottom, n_trees << depth, sizeof(double), "bottom")) {
        goto done;
    }
    const int32_t *feature_index = features.buf;
    for (Py_ssize_t k = 0; k < inner; k++) {
        if (feature_index[k] < 0 || feature_index[k] >= n_features) {
            PyErr_Format(PyExc_ValueError, "feature index %d out of range at node %zd", (int)feature_index[k], k);
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    walk(x.buf, n_points, n_features, feature_index, thresholds.buf, bottom.buf, n_trees, depth, out.buf);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&x);
    PyBuffer_Release(&features);
    PyBuffer_Release(&thresholds);
    PyBuffer_Release(&bottom);
    PyBuffer_Release(&out);
    return result;
}

/* One number of a JSON document as decoded by orjson: an int or float, never a bool or a string. */
static int finite_number(PyObject *item, double *value) {
    if (PyFloat_CheckExact(item)) {
        *value = PyFloat_AS_DOUBLE(item);
    } else if (PyLong_CheckExact(item)) {
        *value = PyLong_AsDouble(item);
        if (*value == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
    } else {
        return 0;
    }
    return isfinite(*value);
}

static PyObject *float_pairs(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *points;
    Py_buffer out;
    if (!PyArg_ParseTuple(args, "O!w*:float_pairs", &PyList_Type, &points, &out)) {
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(points);
    if (check_size(&out, 2 * count, sizeof(double), "out")) {
        PyBuffer_Release(&out);
        return NULL;
    }
    double *values = out.buf;
    int ok = 1;
    for (Py_ssize_t i = 0; ok && i < count; i++) {
        PyObject *pair = PyList_GET_ITEM(points, i);
        ok = PyList_CheckExact(pair) && PyList_GET_SIZE(pair) == 2
             && finite_number(PyList_GET_ITEM(pair, 0), values + 2 * i)
             && finite_number(PyList_GET_ITEM(pair, 1), values + 2 * i + 1);
    }
    PyBuffer_Release(&out);
    return PyBool_FromLong(ok);
}

#define CHUNK 32
/* Bytes moved at once when both sides have room: one fixed-size copy instead of a call that branches on
   the length (numbers, key fragments and the row end are all shorter). */

/* Items of a flat JSON array text "[a,b,...]": 0 for "[]", else commas + 1; -1 unless bracketed once.
   With no bracket inside, every item ends at a comma or at the closing bracket, which bounds the copy. */
static Py_ssize_t count_items(const char *text, Py_ssize_t length) {
    if (length < 2 || text[0] != '[' || text[length - 1] != ']') {
        return -1;
    }
    Py_ssize_t commas = 0;
    int brackets = 0;
    for (Py_ssize_t k = 1; k < length - 1; k++) {
        unsigned char ch = (unsigned char)text[k];
        commas += ch == ',';
        brackets |= (ch == '[') | (ch == ']');
    }
    if (brackets) {
        return -1;
    }
    return length == 2 ? 0 : commas + 1;
}

/* The first comma at or after `from`, or `last` (the closing bracket) when there is none before it. */
static inline const char *item_end(const char *from, const char *last) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t low7 = 0x7F7F7F7F7F7F7F7FULL, commas = 0x2C2C2C2C2C2C2C2CULL;
    while (last - from >= 8) {
        uint64_t word;
        memcpy(&word, from, 8);
        uint64_t x = word ^ commas;
        uint64_t comma_bytes = ~(((x & low7) + low7) | x | low7);  /* high bit of each byte that was ',' */
        if (comma_bytes) {
            return from + (__builtin_ctzll(comma_bytes) >> 3);
        }
        from += 8;
    }
#endif
    while (from < last && *from != ',') {
        from++;
    }
    return from;
}

/* Copies `length` bytes; as one CHUNK when the source has CHUNK readable bytes (the destination always
   has CHUNK bytes of room past what is written). */
static inline char *put(char *out, const char *from, Py_ssize_t length, const char *readable_end) {
    if (length <= CHUNK && readable_end - from >= CHUNK) {
        memcpy(out, from, CHUNK);
    } else {
        memcpy(out, from, length);
    }
    return out + length;
}

static PyObject *join_points(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *columns, *fragments;
    const char *row_end;
    Py_ssize_t row_end_length;
    if (!PyArg_ParseTuple(args, "O!O!y#:join_points", &PyTuple_Type, &columns, &PyTuple_Type, &fragments, &row_end,
                          &row_end_length)) {
        return NULL;
    }
    Py_ssize_t width = PyTuple_GET_SIZE(columns);
    if (width < 1 || width > 64 || PyTuple_GET_SIZE(fragments) != width) {
        PyErr_SetString(PyExc_ValueError, "1 to 64 columns, one key fragment per column");
        return NULL;
    }
    const char *text[64], *fragment[64];
    Py_ssize_t text_length[64], fragment_length[64];
    Py_ssize_t rows = -1, size = 2, per_row = row_end_length + 1;
    for (Py_ssize_t c = 0; c < width; c++) {
        PyObject *column = PyTuple_GET_ITEM(columns, c), *key = PyTuple_GET_ITEM(fragments, c);
        if (!PyBytes_Check(column) || !PyBytes_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "columns and key fragments must be bytes");
            return NULL;
        }
        text[c] = PyBytes_AS_STRING(column);
        text_length[c] = PyBytes_GET_SIZE(column);
        fragment[c] = PyBytes_AS_STRING(key);
        fragment_length[c] = PyBytes_GET_SIZE(key);
        Py_ssize_t items = count_items(text[c], text_length[c]);
        if (items < 0 || (rows >= 0 && items != rows)) {
            PyErr_Format(PyExc_ValueError, "column %zd is not a flat JSON array as long as the others", c);
            return NULL;
        }
        rows = items;
        per_row += fragment_length[c];
        size += text_length[c] - 2 - (items > 0 ? items - 1 : 0);
    }
    if (rows == 0) {
        return PyBytes_FromStringAndSize("[]", 2);
    }
    size += rows * per_row - 1;
    PyObject *joined = PyBytes_FromStringAndSize(NULL, size + CHUNK);
    if (joined == NULL) {
        return NULL;
    }
    char *start = PyBytes_AS_STRING(joined), *out = start;
    int empty_item = 0;
    Py_BEGIN_ALLOW_THREADS
    /* Fragments and the row end read from padded copies, so each is one CHUNK copy (when short enough). */
    char padded[65][CHUNK];
    const char *cursor[64];
    for (Py_ssize_t c = 0; c < width; c++) {
        cursor[c] = text[c] + 1;
        memcpy(padded[c], fragment[c], fragment_length[c] < CHUNK ? fragment_length[c] : CHUNK);
    }
    memcpy(padded[64], row_end, row_end_length < CHUNK ? row_end_length : CHUNK);
    *out++ = '[';
    for (Py_ssize_t r = 0; r < rows; r++) {
        for (Py_ssize_t c = 0; c < width; c++) {
            out = fragment_length[c] <= CHUNK ? put(out, padded[c], fragment_length[c], padded[c] + CHUNK)
                                              : put(out, fragment[c], fragment_length[c], fragment[c]);
            const char *last = text[c] + text_length[c] - 1;
            const char *stop = item_end(cursor[c], last);
            empty_item |= stop == cursor[c];
            out = put(out, cursor[c], stop - cursor[c], last + 1);
            cursor[c] = stop + 1;
        }
        out = row_end_length <= CHUNK ? put(out, padded[64], row_end_length, padded[64] + CHUNK)
                                      : put(out, row_end, row_end_length, row_end);
        *out++ = r + 1 < rows ? ',' : ']';
    }
    Py_END_ALLOW_THREADS
    if (empty_item || out != start + size) {
        Py_DECREF(joined);
        PyErr_SetString(PyExc_ValueError, "a column holds an empty item");
        return NULL;
    }
    if (_PyBytes_Resize(&joined, size) < 0) {
        return NULL;
    }
    return joined;
}

static PyMethodDef methods[] = {
    {"forest_depths", forest_depths, METH_VARARGS,
     "forest_depths(x, n_features, features, thresholds, bottom, n_trees, depth, out): summed path lengths"},
    {"join_points", join_points, METH_VARARGS,
     "join_points(columns, fragments, row_end) -> bytes: JSON arrays of numbers interleaved into objects"},
    {"float_pairs", float_pairs, METH_VARARGS,
     "float_pairs(points, out) -> bool: [[number, number], ...] into out (2 doubles per pair); False if any is not"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT, "_kernels", "Compiled inner loops of /detect.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernels(void) {
    return PyModule_Create(&module_definition);
}
