/* store_call: setting a call's reply (see store_call.h for ownership). */
#include "store_call.h"

#include <stdlib.h>

#include "store_json.h"
#include "tr_err.h"

int store_call_fail(store_call *call, int code, const char *detail)
{
	free(call->json);
	call->code = code;
	call->created = false;
	call->json = store_json_error(code, detail);
	return code;
}

int store_call_ok(store_call *call, char *json)
{
	if (!json)
		return store_call_fail(call, TR_ERR_NOMEM, "out of memory building the reply");
	free(call->json);
	call->code = TR_OK;
	call->json = json;
	return TR_OK;
}
