/* op.c: operation names. See op.h. */
#include "op.h"

#include <string.h>

static const char *const names[OP__COUNT] = {
	[OP_NONE] = "none",
	[OP_TENANT_CREATE] = "tenant.create",
	[OP_TENANT_UPDATE] = "tenant.update",
	[OP_TENANT_REMOVE] = "tenant.remove",
	[OP_TENANT_ENABLE] = "tenant.enable",
	[OP_UNIT_VACATE] = "unit.vacate",
	[OP_UNIT_DISABLE] = "unit.disable",
	[OP_UNIT_ENABLE] = "unit.enable",
	[OP_UNIT_RENT] = "unit.rent",
	[OP_PMS_WRITE] = "pms.write",
};

const char *op_kind_name(enum op_kind k)
{
	return (k > OP_NONE && k < OP__COUNT && names[k]) ? names[k] : "none";
}

enum op_kind op_kind_parse(const char *s)
{
	int k;

	for (k = OP_NONE + 1; s && k < OP__COUNT; k++)
		if (names[k] && strcmp(names[k], s) == 0)
			return (enum op_kind)k;
	return OP_NONE;
}

bool op_is_destructive(enum op_kind k)
{
	return k == OP_UNIT_VACATE;
}
