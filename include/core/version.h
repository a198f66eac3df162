/* The release of sagad and sagactl, one number for both: they are built and
 * shipped together. */
#ifndef SAGAD_CORE_VERSION_H
#define SAGAD_CORE_VERSION_H

#define SAGAD_VERSION "0.1.0"

#endif
