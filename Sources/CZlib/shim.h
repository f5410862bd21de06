#ifndef CHANNEL_EXPORTER_CZLIB_SHIM_H
#define CHANNEL_EXPORTER_CZLIB_SHIM_H
#include <zlib.h>
#endif
