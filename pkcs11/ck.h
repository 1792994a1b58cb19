// The one way keyward code includes the PKCS#11 C API (p11-kit's header).
//
// p11-kit's pkcs11.h, in its default CRYPTOKI_COMPAT mode, defines lowercase macros such as `value`,
// `count`, `parameter` and `reserved` to map its own struct member names onto the standard ones. Those
// would silently rewrite ordinary C++ (std::expected::value(), container.count()…), so after the
// structs are declared we remove every such macro. Always include this header, never pkcs11.h itself.
#pragma once

#include <p11-kit/pkcs11.h>

#undef ck_flags_t
#undef cryptoki_version
#undef manufacturer_id
#undef library_description
#undef library_version
#undef ck_notification_t
#undef ck_slot_id_t
#undef slot_description
#undef hardware_version
#undef firmware_version
#undef serial_number
#undef max_session_count
#undef session_count
#undef max_rw_session_count
#undef rw_session_count
#undef max_pin_len
#undef min_pin_len
#undef total_public_memory
#undef free_public_memory
#undef total_private_memory
#undef free_private_memory
#undef utc_time
#undef ck_session_handle_t
#undef ck_user_type_t
#undef ck_state_t
#undef slot_id
#undef device_error
#undef ck_object_handle_t
#undef ck_object_class_t
#undef ck_hw_feature_type_t
#undef ck_key_type_t
#undef ck_certificate_type_t
#undef ck_attribute_type_t
#undef value
#undef value_len
#undef count
#undef ck_mechanism_type_t
#undef parameter
#undef parameter_len
#undef params
#undef min_key_size
#undef max_key_size
#undef ck_param_type
#undef ck_otp_param
#undef ck_otp_params
#undef ck_otp_signature_info
#undef ck_rv_t
#undef ck_notify_t
#undef ck_createmutex_t
#undef ck_destroymutex_t
#undef ck_lockmutex_t
#undef ck_unlockmutex_t
#undef create_mutex
#undef destroy_mutex
#undef lock_mutex
#undef unlock_mutex
#undef reserved
#undef ck_rsa_pkcs_mgf_type_t
#undef ck_rsa_pkcs_oaep_source_type_t
#undef hash_alg
#undef s_len
#undef source_data
#undef source_data_len
#undef counter_bits
#undef iv_ptr
#undef iv_len
#undef iv_bits
#undef aad_ptr
#undef aad_len
#undef tag_bits
#undef shared_data_len
#undef shared_data
#undef public_data_len
#undef public_data
#undef string_data
#undef string_data_len
#undef data_params

// PKCS#11 v3.0 interface discovery (C_GetInterface). p11-kit 0.24's header predates v3.0, so the few
// types keyward needs are declared here with the layout of PKCS#11 v3.0 §5.1 / pkcs11t.h.
namespace keyward::p11 {
struct Ck3Interface {
  CK_UTF8CHAR* pInterfaceName;
  void* pFunctionList;
  CK_FLAGS flags;
};
using CkGetInterfaceFn = CK_RV (*)(CK_UTF8CHAR* interface_name, CK_VERSION* version,
                                   Ck3Interface** out_interface, CK_FLAGS flags);
}  // namespace keyward::p11
