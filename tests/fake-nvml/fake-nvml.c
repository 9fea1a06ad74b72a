/*
 * A stand-in for libnvidia-ml.so.1 that answers with the H200 captured under
 * tests/fixtures/nvidia-smi/h200 (nvml.txt, nvml-cost.txt, fields-values.tsv):
 * idle, 33 C GPU / 34 C memory, 78.831 W of 700 W, clocks 345/345/3201/765 MHz
 * (max 1980/3201, default applications 1980), reasons 0x1 (idle), pstate P0,
 * 143771 MiB of memory with 0 MiB used and 615 MiB reserved, fan NOT_SUPPORTED.
 *
 * Built by the tests:  gcc -shared -fPIC -o <dir>/libnvidia-ml.so.1 tests/fake-nvml/fake-nvml.c
 * With -DFAKE_NVML_OLD_DRIVER it lacks what drivers before 530 lack
 * (nvmlDeviceGetCurrentClocksEventReasons, nvmlDeviceGetMemoryInfo_v2,
 * nvmlDeviceGetComputeRunningProcesses_v3), so the fallbacks can be tested.
 *
 * Knobs, read from the environment by nvmlInit_v2:
 *   FAKE_NVML_INIT_ERROR=code      nvmlInit_v2 answers this code (9: driver not loaded)
 *   FAKE_NVML_GPUS=N               number of GPUs (default 1); GPU i: uuid ending in i, +i degrees C
 *   FAKE_NVML_NOT_SUPPORTED=a,b    these getters answer NOT_SUPPORTED (3) on every GPU
 *   FAKE_NVML_FAIL=a:code,b:code   these getters answer the given code on every GPU
 *   FAKE_NVML_FAN=pct              the fan reads this instead of NOT_SUPPORTED
 *   FAKE_NVML_EXTREME_GPU=i        GPU i answers every reading with the largest value its type holds
 *                                  (UINT_MAX, ULLONG_MAX, INT_MAX): what a confused driver could say
 *   FAKE_NVML_LOST_GPU=i           GPU i answers FAKE_NVML_LOST_ERROR (default 15, GPU is lost) to every getter
 *   FAKE_NVML_LOST_AFTER=n         ... once it has answered n temperature reads (default 0: from the start),
 *                                  so it falls off halfway through the n-th tick
 *   FAKE_NVML_LOST_ERROR=code      15 (GPU is lost) or 999 (Unknown Error)
 *   FAKE_NVML_PROCESSES=gpu:pid:name:mib[:sm],...  compute processes; name "-" has no name (NOT_FOUND),
 *                                  mib "-" is NVML_VALUE_NOT_AVAILABLE; sm is the process's SM utilization (%)
 *                                  nvmlDeviceGetProcessUtilization gives (a process without one has no sample)
 *   FAKE_NVML_MEMORY_ERRORS=a,b,c,d,e,f,g,h  every GPU's ECC errors (corrected volatile, uncorrected
 *                                  volatile, corrected aggregate, uncorrected aggregate), remapped rows
 *                                  (correctable, uncorrectable) and remap pending, failure (0/1);
 *                                  all 0 by default, as on the H200. Page retirement answers NOT_SUPPORTED
 *                                  (Hopper keeps none) unless FAKE_NVML_RETIRED_PAGES=sbe,dbe,pending is set.
 *   FAKE_NVML_XIDS=gpu:xid:reads,...  Xid errors: each is delivered once to a registered event set,
 *                                  once GPU `gpu` has answered `reads` temperature reads
 * Getter names: temp memtemp fieldvalues fan power powerlimit clock maxclock baseclock reasons
 * utilization memory pstate name uuid processes processname energy eccmode ecc remappedrows
 * retiredpages retiredpending events (registering a device's events) encoder decoder pciereplay pci
 * computemode (Default).
 * Video engines idle (0 %), one PCIe replay (the H200's `nvidia-smi -q`), bus 00000000:<06 + index>:00.0.
 * Energy: 4,122,825 mJ (the H200's counter when it was checked) plus 1000 mJ per GPU index.
 *
 * fake_nvml_calls("nvmlDeviceGetMaxClockInfo") tells how often a function was called,
 * so tests can check what is read once and what every tick.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <limits.h>

typedef int nvmlReturn_t;

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_GPU_IS_LOST 15
#define NVML_ERROR_ARGUMENT_VERSION_MISMATCH 25
#define NVML_ERROR_UNKNOWN 999

#define NVML_VALUE_NOT_AVAILABLE_ULL 0xFFFFFFFFFFFFFFFFULL
#define NVML_FI_DEV_MEMORY_TEMP 82
#define NVML_VALUE_TYPE_UNSIGNED_INT 1
#define NVML_MEMORY_V2_VERSION 0x02000028u

#define MIB 1048576ULL
#define MAX_GPUS 64
#define MAX_PROCESSES 64

typedef struct {
  unsigned int index;
  char uuid[80];
  unsigned int temperature_reads;
} fake_device;

typedef struct { unsigned int gpu; unsigned int memory; } nvmlUtilization_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int version; unsigned long long total, reserved, free, used; } nvmlMemory_v2_t;
typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
} nvmlProcessInfo_t;
typedef union {
  double dVal; unsigned int uiVal; unsigned long ulVal; unsigned long long ullVal;
  signed long long sllVal; signed int siVal; unsigned short usVal;
} nvmlValue_t;
typedef struct {
  unsigned int fieldId;
  unsigned int scopeId;
  long long timestamp;
  long long latencyUsec;
  int valueType;
  nvmlReturn_t nvmlReturn;
  nvmlValue_t value;
} nvmlFieldValue_t;

typedef struct {
  char busIdLegacy[16];
  unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
  char busId[32];
} nvmlPciInfo_t;

typedef fake_device *nvmlDevice_t;

/* The H200 of the captures. */
static const char *BASE_UUID = "GPU-8dcb376c-52cc-9fe6-7c25-356490ff3e89";
static const unsigned long long TOTAL_BYTES = 143771ULL * MIB + 524288ULL;
/* nvmlDeviceGetMemoryInfo (v1) read 644939776 B used: the reserved memory, which v2 reports apart. */
static const unsigned long long RESERVED_BYTES = 644939776ULL;

static int initialized;
static unsigned int gpu_count;
static fake_device devices[MAX_GPUS];
static int lost_gpu = -1;
static unsigned int lost_after;
static nvmlReturn_t lost_error = NVML_ERROR_GPU_IS_LOST;
static int fan_pct = -1;
static int extreme_gpu = -1;
static unsigned long long memory_errors[8];
static int retired_pages_kept;
static unsigned int retired_pages[3];

#define MAX_XIDS 16
#define NVML_ERROR_TIMEOUT 10
#define NVML_EVENT_TYPE_XID 0x8ULL
static struct { unsigned int gpu, xid, after_reads; int delivered; } xids[MAX_XIDS];
static int xid_count;
typedef struct { unsigned long long registered_types[MAX_GPUS]; } fake_event_set;
static fake_event_set event_sets[4];
static int event_set_count;

#define MAX_FAILS 32
static struct { char getter[32]; nvmlReturn_t code; } fails[MAX_FAILS];
static int fail_count;

static struct { unsigned int gpu, pid; char name[64]; int has_name; unsigned long long bytes; int sm; } processes[MAX_PROCESSES];
static int process_count;

/* ---- call counting ---- */

#define MAX_COUNTED 48
static struct { const char *function; unsigned int calls; } counted[MAX_COUNTED];

static void count_call(const char *function) {
  for (int i = 0; i < MAX_COUNTED; i++) {
    if (counted[i].function == NULL) {
      counted[i].function = function;
      counted[i].calls = 1;
      return;
    }
    if (strcmp(counted[i].function, function) == 0) {
      counted[i].calls++;
      return;
    }
  }
}

unsigned int fake_nvml_calls(const char *function) {
  for (int i = 0; i < MAX_COUNTED && counted[i].function != NULL; i++) {
    if (strcmp(counted[i].function, function) == 0) return counted[i].calls;
  }
  return 0;
}

/* ---- knobs ---- */

static int env_int(const char *name, int fallback) {
  const char *text = getenv(name);
  return text != NULL && *text != '\0' ? atoi(text) : fallback;
}

static void add_fail(const char *getter, size_t length, nvmlReturn_t code) {
  if (fail_count >= MAX_FAILS || length == 0 || length >= sizeof fails[0].getter) return;
  memcpy(fails[fail_count].getter, getter, length);
  fails[fail_count].getter[length] = '\0';
  fails[fail_count].code = code;
  fail_count++;
}

/* "a,b" (each with `code`) or "a:code,b:code". */
static void read_fail_list(const char *text, nvmlReturn_t code) {
  if (text == NULL) return;
  while (*text != '\0') {
    const char *end = strchr(text, ',');
    size_t length = end != NULL ? (size_t)(end - text) : strlen(text);
    const char *colon = memchr(text, ':', length);
    if (colon != NULL) add_fail(text, (size_t)(colon - text), atoi(colon + 1));
    else add_fail(text, length, code);
    if (end == NULL) break;
    text = end + 1;
  }
}

static void read_processes(const char *text) {
  if (text == NULL) return;
  while (*text != '\0' && process_count < MAX_PROCESSES) {
    unsigned int gpu, pid;
    char name[64], mib[32];
    int sm = -1;
    int fields = sscanf(text, "%u:%u:%63[^:]:%31[^,:]:%d", &gpu, &pid, name, mib, &sm);
    if (fields >= 4) {
      processes[process_count].sm = fields == 5 ? sm : -1;
      processes[process_count].gpu = gpu;
      processes[process_count].pid = pid;
      processes[process_count].has_name = strcmp(name, "-") != 0;
      strcpy(processes[process_count].name, name);
      processes[process_count].bytes = strcmp(mib, "-") == 0 ? NVML_VALUE_NOT_AVAILABLE_ULL : strtoull(mib, NULL, 10) * MIB;
      process_count++;
    }
    const char *end = strchr(text, ',');
    if (end == NULL) break;
    text = end + 1;
  }
}

static int extreme(nvmlDevice_t device) {
  return (int)device->index == extreme_gpu;
}

/* The answer a getter gives on this device before any value: a knob's error, the lost GPU's, or success. */
static nvmlReturn_t check(nvmlDevice_t device, const char *getter) {
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  if (device == NULL || device < devices || device >= devices + gpu_count) return NVML_ERROR_INVALID_ARGUMENT;
  if ((int)device->index == lost_gpu && device->temperature_reads >= lost_after) return lost_error;
  for (int i = 0; i < fail_count; i++) {
    if (strcmp(fails[i].getter, getter) == 0) return fails[i].code;
  }
  return NVML_SUCCESS;
}

static nvmlReturn_t copy_text(char *buffer, unsigned int length, const char *text) {
  if (buffer == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  if (strlen(text) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  strcpy(buffer, text);
  return NVML_SUCCESS;
}

/* ---- library ---- */

nvmlReturn_t nvmlInit_v2(void) {
  count_call("nvmlInit_v2");
  int init_error = env_int("FAKE_NVML_INIT_ERROR", 0);
  if (init_error != 0) return init_error;
  gpu_count = (unsigned int)env_int("FAKE_NVML_GPUS", 1);
  if (gpu_count > MAX_GPUS) gpu_count = MAX_GPUS;
  for (unsigned int i = 0; i < gpu_count; i++) {
    devices[i].index = i;
    devices[i].temperature_reads = 0;
    strcpy(devices[i].uuid, BASE_UUID);
    if (i > 0) sprintf(devices[i].uuid + strlen(BASE_UUID) - 4, "%04x", i);
  }
  lost_gpu = env_int("FAKE_NVML_LOST_GPU", -1);
  lost_after = (unsigned int)env_int("FAKE_NVML_LOST_AFTER", 0);
  lost_error = env_int("FAKE_NVML_LOST_ERROR", NVML_ERROR_GPU_IS_LOST);
  fan_pct = env_int("FAKE_NVML_FAN", -1);
  extreme_gpu = env_int("FAKE_NVML_EXTREME_GPU", -1);
  fail_count = 0;
  read_fail_list(getenv("FAKE_NVML_NOT_SUPPORTED"), NVML_ERROR_NOT_SUPPORTED);
  read_fail_list(getenv("FAKE_NVML_FAIL"), NVML_ERROR_UNKNOWN);
  if (fan_pct < 0) add_fail("fan", 3, NVML_ERROR_NOT_SUPPORTED);
  process_count = 0;
  read_processes(getenv("FAKE_NVML_PROCESSES"));
  memset(memory_errors, 0, sizeof memory_errors);
  const char *errors = getenv("FAKE_NVML_MEMORY_ERRORS");
  if (errors != NULL) {
    sscanf(errors, "%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu", &memory_errors[0], &memory_errors[1], &memory_errors[2],
           &memory_errors[3], &memory_errors[4], &memory_errors[5], &memory_errors[6], &memory_errors[7]);
  }
  xid_count = 0;
  event_set_count = 0;
  const char *xid_list = getenv("FAKE_NVML_XIDS");
  while (xid_list != NULL && *xid_list != '\0' && xid_count < MAX_XIDS) {
    if (sscanf(xid_list, "%u:%u:%u", &xids[xid_count].gpu, &xids[xid_count].xid, &xids[xid_count].after_reads) == 3) {
      xids[xid_count].delivered = 0;
      xid_count++;
    }
    xid_list = strchr(xid_list, ',');
    if (xid_list != NULL) xid_list++;
  }
  const char *retired = getenv("FAKE_NVML_RETIRED_PAGES");
  retired_pages_kept = retired != NULL && sscanf(retired, "%u,%u,%u", &retired_pages[0], &retired_pages[1], &retired_pages[2]) == 3;
  initialized = 1;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) {
  count_call("nvmlShutdown");
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  initialized = 0;
  return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t result) {
  switch (result) {
    case 0: return "Success";
    case 1: return "Uninitialized";
    case 2: return "Invalid Argument";
    case 3: return "Not Supported";
    case 4: return "Insufficient Permissions";
    case 6: return "Not Found";
    case 7: return "Insufficient Size";
    case 9: return "Driver Not Loaded";
    case 12: return "NVML Shared Library Not Found";
    case 13: return "Function Not Found";
    case 15: return "GPU is lost";
    case 18: return "RM has detected an NVML/RM version mismatch.";
    case 25: return "Argument version mismatch";
    case 999: return "Unknown Error";
    default: return "Unknown Error";
  }
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
  count_call("nvmlSystemGetDriverVersion");
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  return copy_text(version, length, "580.159.04");
}

nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length) {
  count_call("nvmlSystemGetNVMLVersion");
  return copy_text(version, length, "13.580.159.04");
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
  count_call("nvmlDeviceGetCount_v2");
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  *count = gpu_count;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
  count_call("nvmlDeviceGetHandleByIndex_v2");
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  if (device == NULL || index >= gpu_count) return NVML_ERROR_INVALID_ARGUMENT;
  *device = &devices[index];
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
  count_call("nvmlDeviceGetUUID");
  nvmlReturn_t result = check(device, "uuid");
  return result != NVML_SUCCESS ? result : copy_text(uuid, length, device->uuid);
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
  count_call("nvmlDeviceGetName");
  nvmlReturn_t result = check(device, "name");
  return result != NVML_SUCCESS ? result : copy_text(name, length, "NVIDIA H200");
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int *temperature) {
  count_call("nvmlDeviceGetTemperature");
  nvmlReturn_t result = check(device, "temp");
  if (result != NVML_SUCCESS) return result;
  device->temperature_reads++;
  if (sensor != 0 || temperature == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  *temperature = extreme(device) ? UINT_MAX : 33 + device->index;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t device, int count, nvmlFieldValue_t *values) {
  count_call("nvmlDeviceGetFieldValues");
  nvmlReturn_t result = check(device, "fieldvalues");
  if (result != NVML_SUCCESS) return result;
  if (count < 0 || (count > 0 && values == NULL)) return NVML_ERROR_INVALID_ARGUMENT;
  for (int i = 0; i < count; i++) {
    values[i].timestamp = 0;
    values[i].latencyUsec = 0;
    if (values[i].fieldId != NVML_FI_DEV_MEMORY_TEMP) {
      values[i].nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
      continue;
    }
    values[i].nvmlReturn = check(device, "memtemp");
    values[i].valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
    values[i].value.ullVal = 0;
    values[i].value.uiVal = extreme(device) ? UINT_MAX : 34 + device->index;
  }
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetFanSpeed(nvmlDevice_t device, unsigned int *speed) {
  count_call("nvmlDeviceGetFanSpeed");
  nvmlReturn_t result = check(device, "fan");
  if (result != NVML_SUCCESS) return result;
  *speed = extreme(device) ? UINT_MAX : (unsigned int)fan_pct;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *milliwatts) {
  count_call("nvmlDeviceGetPowerUsage");
  nvmlReturn_t result = check(device, "power");
  if (result != NVML_SUCCESS) return result;
  *milliwatts = extreme(device) ? UINT_MAX : 78831;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *millijoules) {
  count_call("nvmlDeviceGetTotalEnergyConsumption");
  nvmlReturn_t result = check(device, "energy");
  if (result != NVML_SUCCESS) return result;
  *millijoules = 4122825ULL + 1000ULL * device->index;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int *milliwatts) {
  count_call("nvmlDeviceGetEnforcedPowerLimit");
  nvmlReturn_t result = check(device, "powerlimit");
  if (result != NVML_SUCCESS) return result;
  *milliwatts = extreme(device) ? UINT_MAX : 700000;
  return NVML_SUCCESS;
}

static const unsigned int CURRENT_CLOCKS[4] = {345, 345, 3201, 765};
static const unsigned int MAX_CLOCKS[4] = {1980, 1980, 3201, 1980};

nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, int type, unsigned int *mhz) {
  count_call("nvmlDeviceGetClockInfo");
  nvmlReturn_t result = check(device, "clock");
  if (result != NVML_SUCCESS) return result;
  if (type < 0 || type > 3) return NVML_ERROR_INVALID_ARGUMENT;
  *mhz = extreme(device) ? UINT_MAX : CURRENT_CLOCKS[type];
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMaxClockInfo(nvmlDevice_t device, int type, unsigned int *mhz) {
  count_call("nvmlDeviceGetMaxClockInfo");
  nvmlReturn_t result = check(device, "maxclock");
  if (result != NVML_SUCCESS) return result;
  if (type < 0 || type > 3) return NVML_ERROR_INVALID_ARGUMENT;
  *mhz = extreme(device) ? UINT_MAX : MAX_CLOCKS[type];
  return NVML_SUCCESS;
}

/* FAKE_NVML_APP_CLOCKS_FILE holds "<graphics> <memory>" MHz, read at every call so a test can change them. */
nvmlReturn_t nvmlDeviceGetApplicationsClock(nvmlDevice_t device, int type, unsigned int *mhz) {
  count_call("nvmlDeviceGetApplicationsClock");
  nvmlReturn_t result = check(device, "appclock");
  if (result != NVML_SUCCESS) return result;
  unsigned int graphics = 1980, memory = 3201;
  const char *path = getenv("FAKE_NVML_APP_CLOCKS_FILE");
  FILE *file = path ? fopen(path, "r") : NULL;
  if (file) {
    if (fscanf(file, "%u %u", &graphics, &memory) != 2) graphics = 1980, memory = 3201;
    fclose(file);
  }
  if (type == 0) *mhz = graphics;
  else if (type == 2) *mhz = memory;
  else return NVML_ERROR_NOT_SUPPORTED;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetDefaultApplicationsClock(nvmlDevice_t device, int type, unsigned int *mhz) {
  count_call("nvmlDeviceGetDefaultApplicationsClock");
  nvmlReturn_t result = check(device, "baseclock");
  if (result != NVML_SUCCESS) return result;
  if (extreme(device) && (type == 0 || type == 2)) *mhz = UINT_MAX;
  else if (type == 0) *mhz = 1980;
  else if (type == 2) *mhz = 3201;
  else return NVML_ERROR_NOT_SUPPORTED;
  return NVML_SUCCESS;
}

static nvmlReturn_t clock_reasons(nvmlDevice_t device, unsigned long long *reasons) {
  nvmlReturn_t result = check(device, "reasons");
  if (result != NVML_SUCCESS) return result;
  *reasons = extreme(device) ? ULLONG_MAX : 0x1ULL;
  return NVML_SUCCESS;
}

#ifndef FAKE_NVML_OLD_DRIVER
nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t device, unsigned long long *reasons) {
  count_call("nvmlDeviceGetCurrentClocksEventReasons");
  return clock_reasons(device, reasons);
}
#endif

nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t device, unsigned long long *reasons) {
  count_call("nvmlDeviceGetCurrentClocksThrottleReasons");
  return clock_reasons(device, reasons);
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization) {
  count_call("nvmlDeviceGetUtilizationRates");
  nvmlReturn_t result = check(device, "utilization");
  if (result != NVML_SUCCESS) return result;
  utilization->gpu = extreme(device) ? UINT_MAX : 0;
  utilization->memory = extreme(device) ? UINT_MAX : 0;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
  count_call("nvmlDeviceGetMemoryInfo");
  nvmlReturn_t result = check(device, "memory");
  if (result != NVML_SUCCESS) return result;
  memory->total = extreme(device) ? ULLONG_MAX : TOTAL_BYTES;
  memory->used = extreme(device) ? ULLONG_MAX : RESERVED_BYTES;
  memory->free = TOTAL_BYTES - RESERVED_BYTES;
  return NVML_SUCCESS;
}

#ifndef FAKE_NVML_OLD_DRIVER
nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory) {
  count_call("nvmlDeviceGetMemoryInfo_v2");
  nvmlReturn_t result = check(device, "memory");
  if (result != NVML_SUCCESS) return result;
  if (memory->version != NVML_MEMORY_V2_VERSION) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  memory->total = extreme(device) ? ULLONG_MAX : TOTAL_BYTES;
  memory->reserved = RESERVED_BYTES;
  memory->used = extreme(device) ? ULLONG_MAX : 0;
  memory->free = TOTAL_BYTES - RESERVED_BYTES;
  return NVML_SUCCESS;
}
#endif

nvmlReturn_t nvmlDeviceGetPerformanceState(nvmlDevice_t device, int *state) {
  count_call("nvmlDeviceGetPerformanceState");
  nvmlReturn_t result = check(device, "pstate");
  if (result != NVML_SUCCESS) return result;
  *state = extreme(device) ? INT_MAX : 0;
  return NVML_SUCCESS;
}

static nvmlReturn_t engine_utilization(nvmlDevice_t device, const char *getter, unsigned int *utilization, unsigned int *period_us) {
  nvmlReturn_t result = check(device, getter);
  if (result != NVML_SUCCESS) return result;
  *utilization = extreme(device) ? UINT_MAX : 0;
  *period_us = 167000;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetEncoderUtilization(nvmlDevice_t device, unsigned int *utilization, unsigned int *period_us) {
  count_call("nvmlDeviceGetEncoderUtilization");
  return engine_utilization(device, "encoder", utilization, period_us);
}

nvmlReturn_t nvmlDeviceGetDecoderUtilization(nvmlDevice_t device, unsigned int *utilization, unsigned int *period_us) {
  count_call("nvmlDeviceGetDecoderUtilization");
  return engine_utilization(device, "decoder", utilization, period_us);
}

nvmlReturn_t nvmlDeviceGetComputeMode(nvmlDevice_t device, int *mode) {
  count_call("nvmlDeviceGetComputeMode");
  nvmlReturn_t result = check(device, "computemode");
  if (result != NVML_SUCCESS) return result;
  *mode = extreme(device) ? INT_MAX : 0;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPcieReplayCounter(nvmlDevice_t device, unsigned int *value) {
  count_call("nvmlDeviceGetPcieReplayCounter");
  nvmlReturn_t result = check(device, "pciereplay");
  if (result != NVML_SUCCESS) return result;
  *value = extreme(device) ? UINT_MAX : 1;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci) {
  count_call("nvmlDeviceGetPciInfo_v3");
  nvmlReturn_t result = check(device, "pci");
  if (result != NVML_SUCCESS) return result;
  memset(pci, 0, sizeof *pci);
  pci->bus = 0x06 + device->index;
  snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "0000:%02X:00.0", pci->bus);
  snprintf(pci->busId, sizeof pci->busId, "00000000:%02X:00.0", pci->bus);
  return NVML_SUCCESS;
}

/* NVML's contract: a too small array answers INSUFFICIENT_SIZE with the count needed. */
static nvmlReturn_t compute_processes(nvmlDevice_t device, unsigned int *count, nvmlProcessInfo_t *infos) {
  nvmlReturn_t result = check(device, "processes");
  if (result != NVML_SUCCESS) return result;
  if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  unsigned int found = 0;
  for (int i = 0; i < process_count; i++) if (processes[i].gpu == device->index) found++;
  if (*count < found) {
    *count = found;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  if (found > 0 && infos == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  unsigned int written = 0;
  for (int i = 0; i < process_count; i++) {
    if (processes[i].gpu != device->index) continue;
    infos[written].pid = processes[i].pid;
    infos[written].usedGpuMemory = processes[i].bytes;
    infos[written].gpuInstanceId = 0xFFFFFFFFu;
    infos[written].computeInstanceId = 0xFFFFFFFFu;
    written++;
  }
  *count = written;
  return NVML_SUCCESS;
}

#ifndef FAKE_NVML_OLD_DRIVER
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *count, nvmlProcessInfo_t *infos) {
  count_call("nvmlDeviceGetComputeRunningProcesses_v3");
  return compute_processes(device, count, infos);
}
#endif

typedef struct {
  unsigned int pid;
  unsigned long long timeStamp;
  unsigned int smUtil, memUtil, encUtil, decUtil;
} nvmlProcessUtilizationSample_t;

/* NVML's contract: a NULL array asks for the count (INSUFFICIENT_SIZE); NOT_FOUND when no process has a sample. */
nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t device, nvmlProcessUtilizationSample_t *samples, unsigned int *count,
                                             unsigned long long lastSeenTimeStamp) {
  count_call("nvmlDeviceGetProcessUtilization");
  (void)lastSeenTimeStamp;
  nvmlReturn_t result = check(device, "processUtilization");
  if (result != NVML_SUCCESS) return result;
  if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  unsigned int found = 0;
  for (int i = 0; i < process_count; i++) if (processes[i].gpu == device->index && processes[i].sm >= 0) found++;
  if (found == 0) return NVML_ERROR_NOT_FOUND;
  if (samples == NULL || *count < found) {
    *count = found;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  unsigned int written = 0;
  for (int i = 0; i < process_count; i++) {
    if (processes[i].gpu != device->index || processes[i].sm < 0) continue;
    samples[written].pid = processes[i].pid;
    samples[written].timeStamp = 1;
    samples[written].smUtil = (unsigned int)processes[i].sm;
    samples[written].memUtil = 0;
    samples[written].encUtil = 0;
    samples[written].decUtil = 0;
    written++;
  }
  *count = written;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device, unsigned int *count, nvmlProcessInfo_t *infos) {
  count_call("nvmlDeviceGetComputeRunningProcesses_v2");
  return compute_processes(device, count, infos);
}

nvmlReturn_t nvmlSystemGetProcessName(unsigned int pid, char *name, unsigned int length) {
  count_call("nvmlSystemGetProcessName");
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  for (int i = 0; i < fail_count; i++) {
    if (strcmp(fails[i].getter, "processname") == 0) return fails[i].code;
  }
  for (int i = 0; i < process_count; i++) {
    if (processes[i].pid != pid) continue;
    return processes[i].has_name ? copy_text(name, length, processes[i].name) : NVML_ERROR_NOT_FOUND;
  }
  return NVML_ERROR_NOT_FOUND;
}

/* ---- memory errors ---- */

nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t device, unsigned int *current, unsigned int *pending) {
  count_call("nvmlDeviceGetEccMode");
  nvmlReturn_t result = check(device, "eccmode");
  if (result != NVML_SUCCESS) return result;
  if (current == NULL || pending == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  *current = 1;
  *pending = 1;
  return NVML_SUCCESS;
}

/* errorType 0 corrected, 1 uncorrected; counterType 0 volatile, 1 aggregate. */
nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, int errorType, int counterType, unsigned long long *count) {
  count_call("nvmlDeviceGetTotalEccErrors");
  nvmlReturn_t result = check(device, "ecc");
  if (result != NVML_SUCCESS) return result;
  if (count == NULL || errorType < 0 || errorType > 1 || counterType < 0 || counterType > 1) return NVML_ERROR_INVALID_ARGUMENT;
  *count = memory_errors[counterType * 2 + errorType];
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t device, unsigned int *corrRows, unsigned int *uncRows, unsigned int *isPending, unsigned int *failureOccurred) {
  count_call("nvmlDeviceGetRemappedRows");
  nvmlReturn_t result = check(device, "remappedrows");
  if (result != NVML_SUCCESS) return result;
  if (corrRows == NULL || uncRows == NULL || isPending == NULL || failureOccurred == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  *corrRows = (unsigned int)memory_errors[4];
  *uncRows = (unsigned int)memory_errors[5];
  *isPending = (unsigned int)memory_errors[6];
  *failureOccurred = (unsigned int)memory_errors[7];
  return NVML_SUCCESS;
}

/* cause 0: multiple single-bit errors, 1: a double-bit error. A count of 0 asks only how many there are. */
nvmlReturn_t nvmlDeviceGetRetiredPages(nvmlDevice_t device, int cause, unsigned int *pageCount, unsigned long long *addresses) {
  count_call("nvmlDeviceGetRetiredPages");
  nvmlReturn_t result = check(device, "retiredpages");
  if (result != NVML_SUCCESS) return result;
  if (!retired_pages_kept) return NVML_ERROR_NOT_SUPPORTED;
  if (pageCount == NULL || cause < 0 || cause > 1) return NVML_ERROR_INVALID_ARGUMENT;
  unsigned int found = retired_pages[cause];
  if (*pageCount < found) {
    *pageCount = found;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  for (unsigned int i = 0; i < found; i++) addresses[i] = 0x1000ULL * (i + 1);
  *pageCount = found;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetRetiredPagesPendingStatus(nvmlDevice_t device, unsigned int *isPending) {
  count_call("nvmlDeviceGetRetiredPagesPendingStatus");
  nvmlReturn_t result = check(device, "retiredpending");
  if (result != NVML_SUCCESS) return result;
  if (!retired_pages_kept) return NVML_ERROR_NOT_SUPPORTED;
  if (isPending == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  *isPending = retired_pages[2];
  return NVML_SUCCESS;
}

/* ---- events ---- */

typedef fake_event_set *nvmlEventSet_t;
typedef struct {
  nvmlDevice_t device;
  unsigned long long eventType;
  unsigned long long eventData;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
} nvmlEventData_t;

nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set) {
  count_call("nvmlEventSetCreate");
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  if (set == NULL || event_set_count >= 4) return NVML_ERROR_INVALID_ARGUMENT;
  memset(&event_sets[event_set_count], 0, sizeof event_sets[0]);
  *set = &event_sets[event_set_count++];
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long eventTypes, nvmlEventSet_t set) {
  count_call("nvmlDeviceRegisterEvents");
  nvmlReturn_t result = check(device, "events");
  if (result != NVML_SUCCESS) return result;
  if (set == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  set->registered_types[device->index] |= eventTypes;
  return NVML_SUCCESS;
}

/* Never waits: the tests poll with a timeout of 0, as the source does. */
nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms) {
  (void)timeoutms;
  count_call("nvmlEventSetWait_v2");
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  if (set == NULL || data == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  for (int i = 0; i < xid_count; i++) {
    unsigned int gpu = xids[i].gpu;
    if (xids[i].delivered || gpu >= gpu_count || !(set->registered_types[gpu] & NVML_EVENT_TYPE_XID)) continue;
    if (devices[gpu].temperature_reads < xids[i].after_reads) continue;
    xids[i].delivered = 1;
    memset(data, 0, sizeof *data);
    data->device = &devices[gpu];
    data->eventType = NVML_EVENT_TYPE_XID;
    data->eventData = xids[i].xid;
    data->gpuInstanceId = 0xFFFFFFFFu;
    data->computeInstanceId = 0xFFFFFFFFu;
    return NVML_SUCCESS;
  }
  return NVML_ERROR_TIMEOUT;
}

nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
  count_call("nvmlEventSetFree");
  return set == NULL ? NVML_ERROR_INVALID_ARGUMENT : NVML_SUCCESS;
}
