/* provider.c: the table of vendor providers. */
#include "provider.h"

extern const struct provider_ops opentech_provider;
extern const struct provider_ops openapp_provider;
extern const struct provider_ops pti_provider;

const struct provider_ops *provider_for(int vendor_kind)
{
	switch (vendor_kind) {
	case VENDOR_OPENTECH:
		return &opentech_provider;
	case VENDOR_OPENAPP:
		return &openapp_provider;
	case VENDOR_PTI:
		return &pti_provider;
	default:
		return NULL;
	}
}
