/* Writing a value at a compiled reference path (ResultPath), creating the
 * objects on the way, or failing as Step Functions does. */
#include "path_internal.h"
#include "asl/json.h"

#include <stdlib.h>

/* ---- writing (ResultPath) ------------------------------------------------ */

static int set_fail(const asl_path_t *p, const cJSON *doc, cJSON *value, asl_error_t *err)
{
    cJSON_Delete(value);
    char *text = doc ? asl_json_print(doc) : NULL;
    int rc = asl_error_set(err, ASL_E_RESULT_PATH,
                           "Unable to apply ReferencePath %s to input %.1000s",
                           p->text, text ? text : "null");
    free(text);
    return rc;
}

bool asl_path_can_set(const asl_path_t *p, const cJSON *doc)
{
    if (p->context || !p->definite)
        return false;
    const cJSON *node = doc;
    for (size_t i = 0; i < p->nseg; i++) {
        const seg_t *g = &p->segs[i];
        bool last = i + 1 == p->nseg;
        if (g->kind == SEG_FIELD) {
            if (!cJSON_IsObject(node))
                return false;
            if (last)
                return true;
            node = cJSON_GetObjectItemCaseSensitive(node, g->name);
            if (!node) {
                /* asl_path_set creates {} here: only fields can follow */
                for (size_t j = i + 1; j < p->nseg; j++)
                    if (p->segs[j].kind != SEG_FIELD)
                        return false;
                return true;
            }
        } else {
            node = cJSON_IsArray(node) ? asl_path_array_at(node, g->index) : NULL;
            if (!node)
                return false;
        }
    }
    return true;
}

int asl_path_set(const asl_path_t *p, cJSON **doc, cJSON *value, asl_error_t *err)
{
    if (!value)
        return asl_error_set(err, ASL_E_RESULT_PATH, "no value to write at %s", p->text);
    if (p->context || !p->definite)
        return set_fail(p, *doc, value, err);
    if (p->nseg == 0) {
        cJSON_Delete(*doc);
        *doc = value;
        return 0;
    }
    cJSON *node = *doc;
    for (size_t i = 0; i < p->nseg; i++) {
        const seg_t *g = &p->segs[i];
        bool last = i + 1 == p->nseg;
        if (g->kind == SEG_FIELD) {
            if (!cJSON_IsObject(node))
                return set_fail(p, *doc, value, err);
            cJSON *c = cJSON_GetObjectItemCaseSensitive(node, g->name);
            if (last) {
                if (c)
                    cJSON_ReplaceItemInObjectCaseSensitive(node, g->name, value);
                else
                    cJSON_AddItemToObject(node, g->name, value);
                return 0;
            }
            if (!c) {
                c = cJSON_CreateObject();
                if (!c)
                    return set_fail(p, *doc, value, err);
                cJSON_AddItemToObject(node, g->name, c);
            }
            node = c;
        } else {
            cJSON *c = cJSON_IsArray(node) ? (cJSON *)asl_path_array_at(node, g->index) : NULL;
            if (!c)
                return set_fail(p, *doc, value, err);
            if (last) {
                cJSON_ReplaceItemViaPointer(node, c, value);
                return 0;
            }
            node = c;
        }
    }
    return 0;
}
