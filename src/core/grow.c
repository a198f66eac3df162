/* grow_reserve: capacity doubling with every multiplication checked. The
 * array pointer is read and written with memcpy, so callers pass &p for any
 * T *p without a (void **) cast (which would break strict aliasing). */
#include "core/grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int grow_reserve(void *arrp, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    if (size == 0)
        return -1;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > SIZE_MAX / size)
        return -1;
    void *arr;
    memcpy(&arr, arrp, sizeof arr);
    void *grown = realloc(arr, ncap * size);
    if (!grown)
        return -1;
    memcpy(arrp, &grown, sizeof grown);
    *cap = ncap;
    return 0;
}
