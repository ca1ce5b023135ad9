/* consumer.c: a C program built against an installed mayfly (the shared
 * library, C ABI), through find_package(mayfly) and through pkg-config.
 * Prints the first line of a certificate's description; exits non-zero on
 * any failure. */
#include <mayfly/c.h>
#include <stdio.h>
#include <string.h>

/* step's test root CA (tests/testdata/step/steppath/certs/root_ca.crt). */
static const char kRootPem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBnTCCAUKgAwIBAgIRAPjSRMHJ5tlJrilXs4DtfAswCgYIKoZIzj0EAwIwLDEQ\n"
    "MA4GA1UEChMHRml4dHVyZTEYMBYGA1UEAxMPRml4dHVyZSBSb290IENBMB4XDTI2\n"
    "MTEyNTAwNDUzMFoXDTM2MTEyMjAwNDUzMFowLDEQMA4GA1UEChMHRml4dHVyZTEY\n"
    "MBYGA1UEAxMPRml4dHVyZSBSb290IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcD\n"
    "QgAEL8MpQblL63WWDY7t53XdWCOO7h3hJvxllW853yZT5PFBX6oPsUUOnjwmqfol\n"
    "MCocbFhrP8NwCPYhsQ0It2+yiaNFMEMwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB\n"
    "/wQIMAYBAf8CAQEwHQYDVR0OBBYEFIFgK1j+xmbrqDpH8plUtfWn66CUMAoGCCqG\n"
    "SM49BAMCA0kAMEYCIQCJR8XZAxp3Kb+WY8YiQ/SY4QD5X08YgOJIgmS16ep56wIh\n"
    "AOJ/B8BdnjtsGYJ1J//XkbuY7/ZZE9n08rQ/dlsS80Kg\n"
    "-----END CERTIFICATE-----\n";

int main(void) {
  char* text = NULL;
  size_t text_len = 0;
  mayfly_error_t* err = NULL;
  const char* newline;
  int rc;

  printf("mayfly %s (%u)\n", mayfly_version(),
         (unsigned)mayfly_version_number());
  if (mayfly_version_number() != MAYFLY_VERSION_NUMBER ||
      strcmp(mayfly_version(), MAYFLY_VERSION_STRING) != 0) {
    fprintf(stderr, "run-time version %s differs from compile-time %s\n",
            mayfly_version(), MAYFLY_VERSION_STRING);
    return 1;
  }
  rc = mayfly_certificate_inspect((const uint8_t*)kRootPem,
                                  sizeof(kRootPem) - 1, &text, &text_len, &err);
  if (rc != MAYFLY_OK) {
    fprintf(stderr, "mayfly_certificate_inspect: %d: %s\n", rc,
            err != NULL ? mayfly_error_message(err) : "");
    mayfly_error_free(err);
    return 1;
  }
  if (text_len == 0 || strstr(text, "Fixture Root CA") == NULL) {
    fprintf(stderr, "unexpected description:\n%s\n", text);
    mayfly_free(text);
    return 1;
  }
  newline = strchr(text, '\n');
  printf("%.*s\n", newline == NULL ? (int)text_len : (int)(newline - text),
         text);
  mayfly_free(text);
  return 0;
}
