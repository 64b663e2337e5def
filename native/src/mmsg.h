// Batched UDP multicast for the river (see mmsg.cc): MmsgSender and MmsgReceiver classes.
#pragma once
#include <napi.h>

namespace x2 {

// Adds the MmsgSender and MmsgReceiver constructors to the addon's exports.
void InitMmsg(Napi::Env env, Napi::Object exports);

}  // namespace x2
