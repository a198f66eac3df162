/* Private to the files of the asl/machine module (src/asl/machine*.c): the
 * machine's layout, the problem collector, and the functions the files
 * share. The public face is include/asl/machine.h. */
#ifndef SAGAD_ASL_MACHINE_INTERNAL_H
#define SAGAD_ASL_MACHINE_INTERNAL_H

#include "asl/machine.h"

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

/* Open addressing on names; a slot with name NULL is empty. */
typedef struct name_slot_s {
    const char *name;          /* borrowed */
    size_t value;
} name_slot_t;

typedef struct name_table_s {
    name_slot_t *slots;
    size_t cap;                /* a power of two, at least twice the names */
} name_table_t;

struct asl_machine_s {
    cJSON *owned_def;          /* top level only: our copy of the definition */
    const cJSON *def;
    const char *comment;
    uint32_t timeout_s;
    asl_state_t *states;
    size_t n_states;
    size_t start;
    name_table_t names;        /* state name -> index */
};

typedef struct ctx_s {
    asl_problems_t *probs;     /* may be NULL */
    size_t count;              /* problems found */
} ctx_t;

/* machine.c */
asl_machine_t *asl_machine_compile_machine(ctx_t *c, const cJSON *def, const char *prefix,
                                           const char *owner, const char *owner_field, int top);

/* machine_fields.c */
void asl_machine_prob(ctx_t *c, const char *state, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int asl_machine_type_from_name(const char *s, asl_state_type_t *t);
void asl_machine_fname(char *buf, size_t n, const char *prefix, const char *name);
int asl_machine_contains_context(const cJSON *v);
int asl_machine_get_uint(ctx_t *c, const char *st, const cJSON *obj, const char *field, double min,
                         double max, double *out);
const char *asl_machine_get_string(ctx_t *c, const char *st, const cJSON *obj, const char *field,
                                   const char *shown);
int asl_machine_get_path(ctx_t *c, const char *st, const cJSON *obj, const char *field,
                         const char *shown, unsigned flags, int allow_null, asl_path_t **out,
                         int *is_null);
void asl_machine_get_num_field(ctx_t *c, const char *st, const cJSON *obj, const char *lit,
                               const char *path_field, double min, double max, int integer,
                               asl_num_field_t *f);
void asl_machine_free_num_field(asl_num_field_t *f);
void asl_machine_check_fields(ctx_t *c, const char *st, const char *prefix, const cJSON *obj,
                              const char *const *allowed, const char *what);

/* machine_retry.c */
void asl_machine_compile_retry(ctx_t *c, const char *st, asl_state_t *s);
void asl_machine_compile_catch(ctx_t *c, const char *st, asl_state_t *s);

/* machine_states.c */
void asl_machine_compile_transition(ctx_t *c, const char *st, asl_state_t *s);
void asl_machine_compile_state(ctx_t *c, const char *st, asl_state_t *s);
void asl_machine_free_state(asl_state_t *s);

#endif
