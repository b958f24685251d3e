// AES-256-GCM with the key schedule kept between calls. node:crypto builds a new OpenSSL context
// (and key schedule) for every createCipheriv, about 10 µs per 1.2 kB tunnel datagram here, which
// is most of the cost of sealing; this addon keeps one context per direction and per key, resets
// only the nonce, and does a whole seal or open in one call from JavaScript. It links against the
// OpenSSL that Node itself exports, so it needs Node's headers and a C compiler, nothing else.
// Each context (about 1 KB of OpenSSL state) is made on first use of its direction, so a key that
// only seals (or only opens) holds one, and `release` frees both while keeping the key: an idle
// tunnel then costs its 32 key bytes, and its next frame rebuilds the context (a few µs).
#include <node_api.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#define TAG_BYTES 16

typedef struct {
  EVP_CIPHER_CTX *seal; // NULL until the first seal (and after release)
  EVP_CIPHER_CTX *open; // NULL until the first open (and after release)
  int seal_iv_len;
  int open_iv_len;
  uint8_t key[32];
} gcm_key;

static void release_contexts(gcm_key *k) {
  EVP_CIPHER_CTX_free(k->seal);
  EVP_CIPHER_CTX_free(k->open);
  k->seal = NULL;
  k->open = NULL;
}

static void free_key(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  gcm_key *k = (gcm_key *)data;
  release_contexts(k);
  OPENSSL_cleanse(k, sizeof(*k));
  OPENSSL_free(k);
}

// The context of one direction, made (key schedule and GHASH table) when first needed.
static EVP_CIPHER_CTX *context(gcm_key *k, bool enc) {
  EVP_CIPHER_CTX **slot = enc ? &k->seal : &k->open;
  if (*slot != NULL) return *slot;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (ctx == NULL) return NULL;
  int ok = enc ? EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->key, NULL)
               : EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->key, NULL);
  if (ok != 1) {
    EVP_CIPHER_CTX_free(ctx);
    return NULL;
  }
  if (enc) k->seal_iv_len = 12;
  else k->open_iv_len = 12;
  *slot = ctx;
  return ctx;
}

static napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, "CRYPTO_NATIVE", message);
  return NULL;
}

// The bytes of a Uint8Array (or Buffer) argument; false when it is not one.
static bool bytes_of(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return false;
  napi_typedarray_type type;
  void *raw = NULL;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, NULL, NULL) != napi_ok) return false;
  if (type != napi_uint8_array) return false;
  // A zero-length view may report a NULL pointer; OpenSSL accepts any pointer with length 0.
  static uint8_t empty[1];
  *data = raw == NULL ? empty : (uint8_t *)raw;
  return true;
}

static bool set_iv(EVP_CIPHER_CTX *ctx, int *current, const uint8_t *nonce, size_t nonce_len, bool enc) {
  if ((int)nonce_len != *current) {
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)nonce_len, NULL) != 1) return false;
    *current = (int)nonce_len;
  }
  return enc ? EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) == 1
             : EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) == 1;
}

// key(key: Uint8Array(32)) → an opaque handle
static napi_value create_key(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *key;
  size_t key_len;
  if (argc < 1 || !bytes_of(env, argv[0], &key, &key_len) || key_len != 32) {
    return fail(env, "key must be a 32-byte Uint8Array");
  }
  gcm_key *k = (gcm_key *)OPENSSL_zalloc(sizeof(gcm_key));
  if (k == NULL) return fail(env, "out of memory");
  // Any 32 bytes are an AES-256 key: nothing to check before the first frame makes a context.
  for (int i = 0; i < 32; i++) k->key[i] = key[i];
  napi_value handle;
  if (napi_create_external(env, k, free_key, NULL, &handle) != napi_ok) {
    free_key(env, k, NULL);
    return fail(env, "cannot create the key handle");
  }
  return handle;
}

static gcm_key *key_of(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok) return NULL;
  return (gcm_key *)data;
}

// seal(handle, nonce, aad, plaintext, out, outOffset): writes ciphertext ‖ tag into out.
static napi_value seal(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  gcm_key *k = argc == 6 ? key_of(env, argv[0]) : NULL;
  uint8_t *nonce, *aad, *plaintext, *out;
  size_t nonce_len, aad_len, plaintext_len, out_len;
  uint32_t offset;
  if (k == NULL || !bytes_of(env, argv[1], &nonce, &nonce_len) || !bytes_of(env, argv[2], &aad, &aad_len) ||
      !bytes_of(env, argv[3], &plaintext, &plaintext_len) || !bytes_of(env, argv[4], &out, &out_len) ||
      napi_get_value_uint32(env, argv[5], &offset) != napi_ok) {
    return fail(env, "seal(handle, nonce, aad, plaintext, out, outOffset): bad arguments");
  }
  if (nonce_len < 1 || nonce_len > 1024 || aad_len > INT32_MAX || plaintext_len > INT32_MAX - TAG_BYTES ||
      offset > out_len || out_len - offset < plaintext_len + TAG_BYTES) {
    return fail(env, "seal: lengths out of range");
  }
  uint8_t *dst = out + offset;
  int n = 0;
  EVP_CIPHER_CTX *ctx = context(k, true);
  if (ctx == NULL) return fail(env, "OpenSSL failed to make a context");
  if (!set_iv(ctx, &k->seal_iv_len, nonce, nonce_len, true) ||
      (aad_len > 0 && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) ||
      (plaintext_len > 0 && EVP_EncryptUpdate(ctx, dst, &n, plaintext, (int)plaintext_len) != 1) ||
      EVP_EncryptFinal_ex(ctx, dst + plaintext_len, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, dst + plaintext_len) != 1) {
    return fail(env, "OpenSSL failed to seal");
  }
  return NULL;
}

// open(handle, nonce, aad, sealed, out, outOffset) → true when the tag verifies, the plaintext then
// in out[outOffset..]. out may be sealed's own memory (in place): OpenSSL's GCM decrypts in place.
static napi_value open_sealed(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  gcm_key *k = argc == 6 ? key_of(env, argv[0]) : NULL;
  uint8_t *nonce, *aad, *sealed, *out;
  size_t nonce_len, aad_len, sealed_len, out_len;
  uint32_t offset;
  if (k == NULL || !bytes_of(env, argv[1], &nonce, &nonce_len) || !bytes_of(env, argv[2], &aad, &aad_len) ||
      !bytes_of(env, argv[3], &sealed, &sealed_len) || !bytes_of(env, argv[4], &out, &out_len) ||
      napi_get_value_uint32(env, argv[5], &offset) != napi_ok) {
    return fail(env, "open(handle, nonce, aad, sealed, out, outOffset): bad arguments");
  }
  if (nonce_len < 1 || nonce_len > 1024 || aad_len > INT32_MAX || sealed_len < TAG_BYTES ||
      sealed_len > INT32_MAX || offset > out_len || out_len - offset < sealed_len - TAG_BYTES) {
    return fail(env, "open: lengths out of range");
  }
  size_t body_len = sealed_len - TAG_BYTES;
  uint8_t *dst = out + offset;
  // Read before decryption can overwrite anything (in place, the tag follows the body and is safe,
  // but a caller's out may end where sealed's tag is).
  uint8_t tag[TAG_BYTES];
  for (int i = 0; i < TAG_BYTES; i++) tag[i] = sealed[body_len + i];
  int n = 0;
  EVP_CIPHER_CTX *ctx = context(k, false);
  if (ctx == NULL) return fail(env, "OpenSSL failed to make a context");
  bool ok = set_iv(ctx, &k->open_iv_len, nonce, nonce_len, false) &&
            (aad_len == 0 || EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1) &&
            (body_len == 0 || EVP_DecryptUpdate(ctx, dst, &n, sealed, (int)body_len) == 1) &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag) == 1 &&
            EVP_DecryptFinal_ex(ctx, dst + body_len, &n) == 1;
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

// release(handle): frees both contexts (the next seal or open makes its own again).
static napi_value release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  gcm_key *k = argc == 1 ? key_of(env, argv[0]) : NULL;
  if (k == NULL) return fail(env, "release(handle): bad arguments");
  release_contexts(k);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"key", NULL, create_key, NULL, NULL, NULL, napi_default, NULL},
      {"seal", NULL, seal, NULL, NULL, NULL, napi_default, NULL},
      {"open", NULL, open_sealed, NULL, NULL, NULL, napi_default, NULL},
      {"release", NULL, release, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
