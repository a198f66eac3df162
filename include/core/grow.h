/* Growing dynamic arrays: one checked way to make room, so that no caller
 * multiplies sizes unchecked or drops an element when memory runs out. */
#ifndef SAGAD_CORE_GROW_H
#define SAGAD_CORE_GROW_H

#include <stddef.h>

/* Makes room for at least `need` elements of `size` bytes in the array whose
 * address is `arrp` (a T ** for any T, holding NULL or a malloc'd array) and
 * whose capacity in elements is *cap; capacities at least double, from 8.
 * Returns 0, or -1 when the size overflows or memory runs out: then *arrp
 * and *cap are unchanged (still owned by the caller) and the caller must not
 * store the element. */
int grow_reserve(void *arrp, size_t *cap, size_t need, size_t size);

#endif
