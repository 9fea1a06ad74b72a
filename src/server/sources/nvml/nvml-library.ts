/**
 * The binding to NVML (`libnvidia-ml.so.1`) through koffi: typed functions over the
 * C API of nvml.h and nothing more. Every call answers NVML's return code next to
 * the value, so the reader decides what a code means for a reading.
 *
 * koffi is imported only when a library is opened, so a machine without it, or
 * without NVML, starts as before. Outputs go into Buffers allocated once: koffi
 * hands their memory to C as is, so a call costs well under a microsecond and
 * allocates nothing on the C side.
 */

/** The nvmlReturn_t values this project treats apart (nvml.h); nvmlErrorString names any code. */
export const NvmlCode = {
  success: 0,
  notSupported: 3,
  notFound: 6,
  insufficientSize: 7,
  timeout: 10,
  functionNotFound: 13,
  gpuIsLost: 15,
  argumentVersionMismatch: 25,
  unknown: 999,
} as const;

/** nvmlMemoryErrorType_t and nvmlEccCounterType_t. */
export const NvmlEccError = { corrected: 0, uncorrected: 1 } as const;
export const NvmlEccCounter = { volatile: 0, aggregate: 1 } as const;
/** nvmlPageRetirementCause_t. */
export const NvmlRetiredCause = { multipleSingleBit: 0, doubleBit: 1 } as const;

/** nvmlClockType_t. */
export const NvmlClock = { graphics: 0, sm: 1, memory: 2, video: 3 } as const;
export type NvmlClockType = (typeof NvmlClock)[keyof typeof NvmlClock];

const NVML_TEMPERATURE_GPU = 0;
const NVML_FI_DEV_MEMORY_TEMP = 82;
/** nvmlPstates_t NVML_PSTATE_UNKNOWN. */
const NVML_PSTATE_UNKNOWN = 32;
/** NVML_VALUE_NOT_AVAILABLE as an unsigned long long (e.g. a process's memory under WDDM). */
const VALUE_NOT_AVAILABLE = 0xffff_ffff_ffff_ffffn;
/** NVML_STRUCT_VERSION(Memory, 2): sizeof(nvmlMemory_v2_t) | 2 << 24. */
const NVML_MEMORY_V2_VERSION = 0x0200_0028;

// Buffer sizes from nvml.h (the _V2 sizes, which are the larger ones).
const NAME_BUFFER_SIZE = 96;
const UUID_BUFFER_SIZE = 96;
const VERSION_BUFFER_SIZE = 80;
const PROCESS_NAME_BUFFER_SIZE = 256;

/** nvmlFieldValue_t: fieldId, scopeId, timestamp, latencyUsec, valueType, nvmlReturn, value (union). */
const FIELD_VALUE = { size: 40, fieldId: 0, scopeId: 4, valueType: 24, nvmlReturn: 28, value: 32 } as const;
/** nvmlEventData_t: device (a pointer), eventType, eventData (the Xid), gpuInstanceId, computeInstanceId. */
const EVENT_DATA = { size: 32, device: 0, eventType: 8, eventData: 16 } as const;
/** nvmlEventTypeXidCriticalError. */
export const NVML_EVENT_TYPE_XID_CRITICAL_ERROR = 0x8n;
/** nvmlProcessInfo_t (the v2 layout, which _v3 also fills): pid, usedGpuMemory, gpuInstanceId, computeInstanceId. */
const PROCESS_INFO = { size: 24, pid: 0, usedGpuMemory: 8 } as const;
/** nvmlProcessUtilizationSample_t: pid, timeStamp (us), smUtil, memUtil, encUtil, decUtil. */
const PROCESS_UTILIZATION = { size: 32, pid: 0, smUtil: 16 } as const;
/** nvmlPciInfo_t (_v3): busIdLegacy[16], domain, bus, device, pciDeviceId, pciSubSystemId, busId[32]. */
const PCI_INFO = { size: 68, busId: 36 } as const;

export type NvmlAnswer<T> = { ok: true; value: T } | { ok: false; code: number };

declare const deviceBrand: unique symbol;
/** An nvmlDevice_t: opaque, only ever handed back to the library. */
export type NvmlDevice = { readonly [deviceBrand]: true };
declare const eventSetBrand: unique symbol;
/** An nvmlEventSet_t. */
export type NvmlEventSet = { readonly [eventSetBrand]: true };

/** One event of an event set: which device (by its handle's address), what kind, and its data (the Xid). */
export interface NvmlEvent {
  deviceAddress: bigint;
  eventType: bigint;
  data: number;
}

export interface NvmlUtilization {
  gpuPct: number;
  memoryPct: number;
}

export interface NvmlMemory {
  totalBytes: number;
  /** Memory allocated by contexts; without the driver's reserve when the _v2 call exists. */
  usedBytes: number;
  /** The driver's reserve; null from the older call, which counts it as used. */
  reservedBytes: number | null;
}

export interface NvmlRemappedRows {
  correctable: number;
  uncorrectable: number;
  pending: boolean;
  failure: boolean;
}

export interface NvmlProcessInfo {
  pid: number;
  /** Null for NVML_VALUE_NOT_AVAILABLE. */
  usedBytes: number | null;
}

export interface NvmlLibrary {
  /** What was opened (a path or a name the dynamic loader resolves). */
  readonly path: string;
  /** Functions this NVML lacks (older drivers), with no substitute: their calls answer FUNCTION_NOT_FOUND. */
  readonly missing: readonly string[];
  /** Older functions called in place of ones this NVML lacks. */
  readonly fallbacks: readonly string[];
  init(): number;
  shutdown(): number;
  errorString(code: number): string;
  driverVersion(): NvmlAnswer<string>;
  nvmlVersion(): NvmlAnswer<string>;
  deviceCount(): NvmlAnswer<number>;
  deviceHandle(index: number): NvmlAnswer<NvmlDevice>;
  uuid(device: NvmlDevice): NvmlAnswer<string>;
  name(device: NvmlDevice): NvmlAnswer<string>;
  temperatureC(device: NvmlDevice): NvmlAnswer<number>;
  memoryTemperatureC(device: NvmlDevice): NvmlAnswer<number>;
  fanSpeedPct(device: NvmlDevice): NvmlAnswer<number>;
  powerUsageMw(device: NvmlDevice): NvmlAnswer<number>;
  enforcedPowerLimitMw(device: NvmlDevice): NvmlAnswer<number>;
  clockMhz(device: NvmlDevice, clock: NvmlClockType): NvmlAnswer<number>;
  maxClockMhz(device: NvmlDevice, clock: NvmlClockType): NvmlAnswer<number>;
  defaultApplicationsClockMhz(device: NvmlDevice, clock: NvmlClockType): NvmlAnswer<number>;
  applicationsClockMhz(device: NvmlDevice, clock: NvmlClockType): NvmlAnswer<number>;
  clockEventReasons(device: NvmlDevice): NvmlAnswer<number>;
  utilization(device: NvmlDevice): NvmlAnswer<NvmlUtilization>;
  memory(device: NvmlDevice): NvmlAnswer<NvmlMemory>;
  performanceState(device: NvmlDevice): NvmlAnswer<number>;
  computeProcesses(device: NvmlDevice): NvmlAnswer<NvmlProcessInfo[]>;
  /**
   * Each process's SM utilization (%) by pid, averaged over the driver's samples taken
   * since `sinceUs` (epoch microseconds); empty when none has a sample (NVML's NOT_FOUND).
   */
  processSmUtilization(device: NvmlDevice, sinceUs: bigint): NvmlAnswer<Map<number, number>>;
  /** Share of NVML's last sample period the video encoder worked, percent. */
  encoderUtilizationPct(device: NvmlDevice): NvmlAnswer<number>;
  decoderUtilizationPct(device: NvmlDevice): NvmlAnswer<number>;
  /** PCIe replays since the driver loaded. */
  pcieReplays(device: NvmlDevice): NvmlAnswer<number>;
  /** `00000000:00:06.0`, as nvidia-smi prints pci.bus_id. */
  pciBusId(device: NvmlDevice): NvmlAnswer<string>;
  /** nvmlComputeMode_t: 0 default, 1 exclusive thread, 2 prohibited, 3 exclusive process. */
  computeMode(device: NvmlDevice): NvmlAnswer<number>;
  /** Energy used since the driver was loaded, millijoules. Slow (about 3.5 ms on an H200): asked only when wanted. */
  totalEnergyMj(device: NvmlDevice): NvmlAnswer<number>;
  processName(pid: number): NvmlAnswer<string>;
  /** Whether ECC is on now (the mode after the next reboot may differ). */
  eccEnabled(device: NvmlDevice): NvmlAnswer<boolean>;
  eccErrors(
    device: NvmlDevice,
    type: (typeof NvmlEccError)[keyof typeof NvmlEccError],
    counter: (typeof NvmlEccCounter)[keyof typeof NvmlEccCounter],
  ): NvmlAnswer<number>;
  remappedRows(device: NvmlDevice): NvmlAnswer<NvmlRemappedRows>;
  retiredPages(device: NvmlDevice, cause: (typeof NvmlRetiredCause)[keyof typeof NvmlRetiredCause]): NvmlAnswer<number>;
  retiredPagesPending(device: NvmlDevice): NvmlAnswer<boolean>;
  /** The address of a device handle, as events name their device. */
  deviceAddress(device: NvmlDevice): bigint;
  createEventSet(): NvmlAnswer<NvmlEventSet>;
  /** Registers the device's Xid (critical error) events with the set. */
  registerXidEvents(device: NvmlDevice, set: NvmlEventSet): number;
  /** The next event, or TIMEOUT when none came within `timeoutMs` (0: do not wait). */
  waitEvent(set: NvmlEventSet, timeoutMs: number): NvmlAnswer<NvmlEvent>;
  freeEventSet(set: NvmlEventSet): number;
}

/** Why a library could not be opened: koffi itself, the file, or a function every NVML has. */
export class NvmlLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NvmlLoadError";
  }
}

type NativeArgument = number | bigint | string | Buffer | unknown[] | NvmlDevice | NvmlEventSet | null;
type NativeCall = (...args: NativeArgument[]) => number;

const fail = <T>(code: number): NvmlAnswer<T> => ({ ok: false, code });
const succeed = <T>(value: T): NvmlAnswer<T> => ({ ok: true, value });

function cString(buffer: Buffer): string {
  const end = buffer.indexOf(0);
  return buffer.toString("utf8", 0, end < 0 ? buffer.length : end);
}

/** Loads koffi and the library, and binds every function this project calls. */
export async function openNvmlLibrary(libraryPath: string): Promise<NvmlLibrary> {
  let koffi: typeof import("koffi");
  try {
    koffi = await import("koffi");
  } catch (error) {
    throw new NvmlLoadError(`the FFI module koffi could not be loaded: ${(error as Error).message}`);
  }
  let library: ReturnType<typeof koffi.load>;
  try {
    library = koffi.load(libraryPath);
  } catch (error) {
    throw new NvmlLoadError(`${libraryPath} could not be loaded: ${(error as Error).message}`);
  }

  /** A function the library may lack (older drivers): null then. */
  const optional = (definition: string): NativeCall | null => {
    try {
      const native = library.func(definition);
      return (...args) => native(...args) as number;
    } catch {
      return null;
    }
  };
  const required = (name: string, definition: string): NativeCall => {
    const call = optional(definition);
    if (call === null) throw new NvmlLoadError(`${libraryPath} has no ${name}: not an NVML library`);
    return call;
  };

  const nvmlInit = required("nvmlInit_v2", "int nvmlInit_v2()");
  const nvmlShutdown = required("nvmlShutdown", "int nvmlShutdown()");
  const errorStringNative = library.func("const char *nvmlErrorString(int result)");
  const getCount = required("nvmlDeviceGetCount_v2", "int nvmlDeviceGetCount_v2(void *count)");
  const getHandle = required("nvmlDeviceGetHandleByIndex_v2", "int nvmlDeviceGetHandleByIndex_v2(unsigned int index, _Out_ void **device)");
  const getUuid = required("nvmlDeviceGetUUID", "int nvmlDeviceGetUUID(void *device, void *uuid, unsigned int length)");
  const getName = optional("int nvmlDeviceGetName(void *device, void *name, unsigned int length)");
  const getDriverVersion = optional("int nvmlSystemGetDriverVersion(void *version, unsigned int length)");
  const getNvmlVersion = optional("int nvmlSystemGetNVMLVersion(void *version, unsigned int length)");
  const getTemperature = optional("int nvmlDeviceGetTemperature(void *device, int sensor, void *temperature)");
  const getFieldValues = optional("int nvmlDeviceGetFieldValues(void *device, int count, void *values)");
  const getFanSpeed = optional("int nvmlDeviceGetFanSpeed(void *device, void *speed)");
  const getPowerUsage = optional("int nvmlDeviceGetPowerUsage(void *device, void *power)");
  const getEnforcedLimit = optional("int nvmlDeviceGetEnforcedPowerLimit(void *device, void *limit)");
  const getClockInfo = optional("int nvmlDeviceGetClockInfo(void *device, int type, void *clock)");
  const getMaxClockInfo = optional("int nvmlDeviceGetMaxClockInfo(void *device, int type, void *clock)");
  const getDefaultAppClock = optional("int nvmlDeviceGetDefaultApplicationsClock(void *device, int type, void *clock)");
  const getAppClock = optional("int nvmlDeviceGetApplicationsClock(void *device, int type, void *clock)");
  // Drivers before 530 only have the "throttle" spelling of the same call.
  const getReasonsNow = optional("int nvmlDeviceGetCurrentClocksEventReasons(void *device, void *reasons)");
  const getReasons = getReasonsNow ?? optional("int nvmlDeviceGetCurrentClocksThrottleReasons(void *device, void *reasons)");
  const getUtilization = optional("int nvmlDeviceGetUtilizationRates(void *device, void *utilization)");
  // _v2 reports the driver's reserve apart from `used`, as nvidia-smi's memory.used does.
  const getMemoryV2 = optional("int nvmlDeviceGetMemoryInfo_v2(void *device, void *memory)");
  const getMemoryV1 = optional("int nvmlDeviceGetMemoryInfo(void *device, void *memory)");
  const getPstate = optional("int nvmlDeviceGetPerformanceState(void *device, void *state)");
  const getProcessesV3 = optional("int nvmlDeviceGetComputeRunningProcesses_v3(void *device, void *count, void *infos)");
  const getProcessesV2 = optional("int nvmlDeviceGetComputeRunningProcesses_v2(void *device, void *count, void *infos)");
  const getProcessName = optional("int nvmlSystemGetProcessName(unsigned int pid, void *name, unsigned int length)");
  const getProcessUtilization = optional(
    "int nvmlDeviceGetProcessUtilization(void *device, void *utilization, void *count, unsigned long long lastSeenTimeStamp)",
  );
  const getTotalEnergy = optional("int nvmlDeviceGetTotalEnergyConsumption(void *device, void *energy)");
  const getEncoderUtilization = optional("int nvmlDeviceGetEncoderUtilization(void *device, void *utilization, void *periodUs)");
  const getDecoderUtilization = optional("int nvmlDeviceGetDecoderUtilization(void *device, void *utilization, void *periodUs)");
  const getPcieReplays = optional("int nvmlDeviceGetPcieReplayCounter(void *device, void *value)");
  const getPciInfo = optional("int nvmlDeviceGetPciInfo_v3(void *device, void *pci)");
  const getComputeMode = optional("int nvmlDeviceGetComputeMode(void *device, void *mode)");
  const getEccMode = optional("int nvmlDeviceGetEccMode(void *device, void *current, void *pending)");
  const getTotalEccErrors = optional("int nvmlDeviceGetTotalEccErrors(void *device, int errorType, int counterType, void *count)");
  const getRemappedRows = optional(
    "int nvmlDeviceGetRemappedRows(void *device, void *corrRows, void *uncRows, void *isPending, void *failureOccurred)",
  );
  const getRetiredPages = optional("int nvmlDeviceGetRetiredPages(void *device, int cause, void *pageCount, void *addresses)");
  const getRetiredPending = optional("int nvmlDeviceGetRetiredPagesPendingStatus(void *device, void *isPending)");
  const eventSetCreate = optional("int nvmlEventSetCreate(_Out_ void **set)");
  const registerEvents = optional("int nvmlDeviceRegisterEvents(void *device, unsigned long long eventTypes, void *set)");
  const eventSetWait = optional("int nvmlEventSetWait_v2(void *set, void *data, unsigned int timeoutms)");
  const eventSetFree = optional("int nvmlEventSetFree(void *set)");

  const readings: Record<string, NativeCall | null> = {
    nvmlDeviceGetName: getName,
    nvmlSystemGetDriverVersion: getDriverVersion,
    nvmlDeviceGetTemperature: getTemperature,
    nvmlDeviceGetFieldValues: getFieldValues,
    nvmlDeviceGetFanSpeed: getFanSpeed,
    nvmlDeviceGetPowerUsage: getPowerUsage,
    nvmlDeviceGetEnforcedPowerLimit: getEnforcedLimit,
    nvmlDeviceGetClockInfo: getClockInfo,
    nvmlDeviceGetMaxClockInfo: getMaxClockInfo,
    nvmlDeviceGetDefaultApplicationsClock: getDefaultAppClock,
    nvmlDeviceGetApplicationsClock: getAppClock,
    nvmlDeviceGetCurrentClocksEventReasons: getReasons,
    nvmlDeviceGetUtilizationRates: getUtilization,
    nvmlDeviceGetMemoryInfo: getMemoryV2 ?? getMemoryV1,
    nvmlDeviceGetPerformanceState: getPstate,
    nvmlDeviceGetComputeRunningProcesses: getProcessesV3 ?? getProcessesV2,
    nvmlSystemGetProcessName: getProcessName,
    nvmlDeviceGetProcessUtilization: getProcessUtilization,
    nvmlDeviceGetTotalEnergyConsumption: getTotalEnergy,
    nvmlDeviceGetEncoderUtilization: getEncoderUtilization,
    nvmlDeviceGetDecoderUtilization: getDecoderUtilization,
    nvmlDeviceGetPcieReplayCounter: getPcieReplays,
    nvmlDeviceGetPciInfo_v3: getPciInfo,
    nvmlDeviceGetComputeMode: getComputeMode,
    nvmlDeviceGetEccMode: getEccMode,
    nvmlDeviceGetTotalEccErrors: getTotalEccErrors,
    nvmlDeviceGetRemappedRows: getRemappedRows,
    nvmlDeviceGetRetiredPages: getRetiredPages,
    nvmlDeviceGetRetiredPagesPendingStatus: getRetiredPending,
    nvmlEventSetCreate: eventSetCreate,
    nvmlDeviceRegisterEvents: registerEvents,
    nvmlEventSetWait_v2: eventSetWait,
    nvmlEventSetFree: eventSetFree,
  };
  const missing = Object.keys(readings).filter((name) => readings[name] === null);
  const fallbacks = [
    getReasonsNow === null && getReasons !== null ? "nvmlDeviceGetCurrentClocksThrottleReasons" : null,
    getMemoryV2 === null && getMemoryV1 !== null ? "nvmlDeviceGetMemoryInfo" : null,
    getProcessesV3 === null && getProcessesV2 !== null ? "nvmlDeviceGetComputeRunningProcesses_v2" : null,
  ].filter((name) => name !== null);

  // One scratch buffer for every fixed-size output: calls are synchronous and never nest.
  const scratch = Buffer.alloc(64);
  const eventData = Buffer.alloc(EVENT_DATA.size);
  const text = Buffer.alloc(PROCESS_NAME_BUFFER_SIZE);

  const unsignedOut = (call: NativeCall | null, ...args: NativeArgument[]): NvmlAnswer<number> => {
    if (call === null) return fail(NvmlCode.functionNotFound);
    scratch.writeUInt32LE(0, 0);
    const code = call(...args, scratch);
    return code === NvmlCode.success ? succeed(scratch.readUInt32LE(0)) : fail(code);
  };
  /** A video engine's utilization; the sampling period, its second output, is not kept. */
  const engineUtilization = (call: NativeCall | null, device: NvmlDevice): NvmlAnswer<number> => {
    if (call === null) return fail(NvmlCode.functionNotFound);
    scratch.fill(0, 0, 8);
    const code = call(device, scratch, scratch.subarray(4));
    return code === NvmlCode.success ? succeed(scratch.readUInt32LE(0)) : fail(code);
  };
  const textOut = (call: NativeCall | null, size: number, ...args: NativeArgument[]): NvmlAnswer<string> => {
    if (call === null) return fail(NvmlCode.functionNotFound);
    text.fill(0, 0, size);
    const code = call(...args, text, size);
    return code === NvmlCode.success ? succeed(cString(text.subarray(0, size))) : fail(code);
  };

  const readProcesses = (call: NativeCall, device: NvmlDevice): NvmlAnswer<NvmlProcessInfo[]> => {
    const count = Buffer.alloc(4);
    // Processes come and go between the two calls: ask again while the array is too small.
    for (let capacity = 0, attempt = 0; attempt < 5; attempt++) {
      count.writeUInt32LE(capacity, 0);
      const infos = capacity > 0 ? Buffer.alloc(capacity * PROCESS_INFO.size) : null;
      const code = call(device, count, infos);
      if (code === NvmlCode.insufficientSize) {
        capacity = count.readUInt32LE(0) + 4;
        continue;
      }
      if (code !== NvmlCode.success) return fail(code);
      const found: NvmlProcessInfo[] = [];
      for (let i = 0; i < count.readUInt32LE(0) && infos !== null; i++) {
        const at = i * PROCESS_INFO.size;
        const bytes = infos.readBigUInt64LE(at + PROCESS_INFO.usedGpuMemory);
        found.push({ pid: infos.readUInt32LE(at + PROCESS_INFO.pid), usedBytes: bytes === VALUE_NOT_AVAILABLE ? null : Number(bytes) });
      }
      return succeed(found);
    }
    return fail(NvmlCode.insufficientSize);
  };

  const readProcessUtilization = (device: NvmlDevice, sinceUs: bigint): NvmlAnswer<Map<number, number>> => {
    if (getProcessUtilization === null) return fail(NvmlCode.functionNotFound);
    const count = Buffer.alloc(4);
    // The first call, without an array, asks how many samples there are; more may come before the second.
    for (let capacity = 0, attempt = 0; attempt < 5; attempt++) {
      count.writeUInt32LE(capacity, 0);
      const samples = capacity > 0 ? Buffer.alloc(capacity * PROCESS_UTILIZATION.size) : null;
      const code = getProcessUtilization(device, samples, count, sinceUs);
      if (code === NvmlCode.notFound) return succeed(new Map());
      if (code === NvmlCode.insufficientSize) {
        capacity = count.readUInt32LE(0) + 4;
        continue;
      }
      if (code !== NvmlCode.success) return fail(code);
      const sums = new Map<number, { sum: number; n: number }>();
      for (let i = 0; i < count.readUInt32LE(0) && samples !== null; i++) {
        const at = i * PROCESS_UTILIZATION.size;
        const pid = samples.readUInt32LE(at + PROCESS_UTILIZATION.pid);
        const seen = sums.get(pid) ?? { sum: 0, n: 0 };
        seen.sum += samples.readUInt32LE(at + PROCESS_UTILIZATION.smUtil);
        seen.n += 1;
        sums.set(pid, seen);
      }
      return succeed(new Map([...sums].map(([pid, { sum, n }]) => [pid, Math.min(100, sum / n)])));
    }
    return fail(NvmlCode.insufficientSize);
  };

  return {
    path: libraryPath,
    missing,
    fallbacks,
    init: () => nvmlInit(),
    shutdown: () => nvmlShutdown(),
    errorString: (code) => String(errorStringNative(code) ?? `NVML error ${code}`),
    driverVersion: () => textOut(getDriverVersion, VERSION_BUFFER_SIZE),
    nvmlVersion: () => textOut(getNvmlVersion, VERSION_BUFFER_SIZE),
    deviceCount: () => unsignedOut(getCount),
    deviceHandle(index) {
      const handle: unknown[] = [null];
      const code = getHandle(index, handle);
      return code === NvmlCode.success ? succeed(handle[0] as NvmlDevice) : fail(code);
    },
    uuid: (device) => textOut(getUuid, UUID_BUFFER_SIZE, device),
    name: (device) => textOut(getName, NAME_BUFFER_SIZE, device),
    temperatureC: (device) => unsignedOut(getTemperature, device, NVML_TEMPERATURE_GPU),
    memoryTemperatureC(device) {
      if (getFieldValues === null) return fail(NvmlCode.functionNotFound);
      scratch.fill(0, 0, FIELD_VALUE.size);
      scratch.writeUInt32LE(NVML_FI_DEV_MEMORY_TEMP, FIELD_VALUE.fieldId);
      const code = getFieldValues(device, 1, scratch);
      if (code !== NvmlCode.success) return fail(code);
      const fieldCode = scratch.readInt32LE(FIELD_VALUE.nvmlReturn);
      if (fieldCode !== NvmlCode.success) return fail(fieldCode);
      const value = readFieldValue(scratch, scratch.readInt32LE(FIELD_VALUE.valueType));
      return value === null ? fail(NvmlCode.unknown) : succeed(value);
    },
    fanSpeedPct: (device) => unsignedOut(getFanSpeed, device),
    powerUsageMw: (device) => unsignedOut(getPowerUsage, device),
    enforcedPowerLimitMw: (device) => unsignedOut(getEnforcedLimit, device),
    clockMhz: (device, clock) => unsignedOut(getClockInfo, device, clock),
    maxClockMhz: (device, clock) => unsignedOut(getMaxClockInfo, device, clock),
    defaultApplicationsClockMhz: (device, clock) => unsignedOut(getDefaultAppClock, device, clock),
    applicationsClockMhz: (device, clock) => unsignedOut(getAppClock, device, clock),
    clockEventReasons(device) {
      if (getReasons === null) return fail(NvmlCode.functionNotFound);
      scratch.writeBigUInt64LE(0n, 0);
      const code = getReasons(device, scratch);
      // The defined reasons fit in 32 bits; a mask stays exact as a number up to 2^53.
      return code === NvmlCode.success ? succeed(Number(scratch.readBigUInt64LE(0))) : fail(code);
    },
    utilization(device) {
      if (getUtilization === null) return fail(NvmlCode.functionNotFound);
      scratch.fill(0, 0, 8);
      const code = getUtilization(device, scratch);
      return code === NvmlCode.success ? succeed({ gpuPct: scratch.readUInt32LE(0), memoryPct: scratch.readUInt32LE(4) }) : fail(code);
    },
    memory(device) {
      if (getMemoryV2 !== null) {
        // nvmlMemory_v2_t: version, total, reserved, free, used.
        scratch.fill(0, 0, 40);
        scratch.writeUInt32LE(NVML_MEMORY_V2_VERSION, 0);
        const code = getMemoryV2(device, scratch);
        if (code === NvmlCode.success) {
          return succeed({
            totalBytes: Number(scratch.readBigUInt64LE(8)),
            usedBytes: Number(scratch.readBigUInt64LE(32)),
            reservedBytes: Number(scratch.readBigUInt64LE(16)),
          });
        }
        const v1Might = code === NvmlCode.functionNotFound || code === NvmlCode.argumentVersionMismatch;
        if (!v1Might || getMemoryV1 === null) return fail(code);
      }
      if (getMemoryV1 === null) return fail(NvmlCode.functionNotFound);
      // nvmlMemory_t: total, free, used.
      scratch.fill(0, 0, 24);
      const code = getMemoryV1(device, scratch);
      return code === NvmlCode.success
        ? succeed({ totalBytes: Number(scratch.readBigUInt64LE(0)), usedBytes: Number(scratch.readBigUInt64LE(16)), reservedBytes: null })
        : fail(code);
    },
    performanceState(device) {
      if (getPstate === null) return fail(NvmlCode.functionNotFound);
      scratch.writeInt32LE(NVML_PSTATE_UNKNOWN, 0);
      const code = getPstate(device, scratch);
      return code === NvmlCode.success ? succeed(scratch.readInt32LE(0)) : fail(code);
    },
    computeProcesses(device) {
      if (getProcessesV3 !== null) {
        const answer = readProcesses(getProcessesV3, device);
        if (answer.ok || answer.code !== NvmlCode.functionNotFound || getProcessesV2 === null) return answer;
      }
      return getProcessesV2 === null ? fail(NvmlCode.functionNotFound) : readProcesses(getProcessesV2, device);
    },
    processName: (pid) => textOut(getProcessName, PROCESS_NAME_BUFFER_SIZE, pid),
    processSmUtilization: readProcessUtilization,
    totalEnergyMj(device) {
      if (getTotalEnergy === null) return fail(NvmlCode.functionNotFound);
      scratch.writeBigUInt64LE(0n, 0);
      const code = getTotalEnergy(device, scratch);
      return code === NvmlCode.success ? succeed(Number(scratch.readBigUInt64LE(0))) : fail(code);
    },
    eccEnabled(device) {
      if (getEccMode === null) return fail(NvmlCode.functionNotFound);
      scratch.fill(0, 0, 8);
      const code = getEccMode(device, scratch, scratch.subarray(4));
      return code === NvmlCode.success ? succeed(scratch.readUInt32LE(0) !== 0) : fail(code);
    },
    eccErrors(device, type, counter) {
      if (getTotalEccErrors === null) return fail(NvmlCode.functionNotFound);
      scratch.writeBigUInt64LE(0n, 0);
      const code = getTotalEccErrors(device, type, counter, scratch);
      return code === NvmlCode.success ? succeed(Number(scratch.readBigUInt64LE(0))) : fail(code);
    },
    encoderUtilizationPct: (device) => engineUtilization(getEncoderUtilization, device),
    decoderUtilizationPct: (device) => engineUtilization(getDecoderUtilization, device),
    pcieReplays: (device) => unsignedOut(getPcieReplays, device),
    computeMode: (device) => unsignedOut(getComputeMode, device),
    pciBusId(device) {
      if (getPciInfo === null) return fail(NvmlCode.functionNotFound);
      const info = Buffer.alloc(PCI_INFO.size);
      const code = getPciInfo(device, info);
      return code === NvmlCode.success ? succeed(cString(info.subarray(PCI_INFO.busId, PCI_INFO.size))) : fail(code);
    },
    remappedRows(device) {
      if (getRemappedRows === null) return fail(NvmlCode.functionNotFound);
      scratch.fill(0, 0, 16);
      const code = getRemappedRows(device, scratch, scratch.subarray(4), scratch.subarray(8), scratch.subarray(12));
      if (code !== NvmlCode.success) return fail(code);
      return succeed({
        correctable: scratch.readUInt32LE(0),
        uncorrectable: scratch.readUInt32LE(4),
        pending: scratch.readUInt32LE(8) !== 0,
        failure: scratch.readUInt32LE(12) !== 0,
      });
    },
    retiredPages(device, cause) {
      if (getRetiredPages === null) return fail(NvmlCode.functionNotFound);
      // A count of 0 and no array asks only how many pages there are.
      scratch.writeUInt32LE(0, 0);
      const code = getRetiredPages(device, cause, scratch, null);
      return code === NvmlCode.success || code === NvmlCode.insufficientSize ? succeed(scratch.readUInt32LE(0)) : fail(code);
    },
    deviceAddress: (device) => koffi.address(device),
    createEventSet() {
      if (eventSetCreate === null) return fail(NvmlCode.functionNotFound);
      const set: unknown[] = [null];
      const code = eventSetCreate(set);
      return code === NvmlCode.success ? succeed(set[0] as NvmlEventSet) : fail(code);
    },
    registerXidEvents: (device, set) =>
      registerEvents === null ? NvmlCode.functionNotFound : registerEvents(device, NVML_EVENT_TYPE_XID_CRITICAL_ERROR, set),
    waitEvent(set, timeoutMs) {
      if (eventSetWait === null) return fail(NvmlCode.functionNotFound);
      eventData.fill(0);
      const code = eventSetWait(set, eventData, timeoutMs);
      if (code !== NvmlCode.success) return fail(code);
      return succeed({
        deviceAddress: eventData.readBigUInt64LE(EVENT_DATA.device),
        eventType: eventData.readBigUInt64LE(EVENT_DATA.eventType),
        data: Number(eventData.readBigUInt64LE(EVENT_DATA.eventData)),
      });
    },
    freeEventSet: (set) => (eventSetFree === null ? NvmlCode.functionNotFound : eventSetFree(set)),
    retiredPagesPending(device) {
      if (getRetiredPending === null) return fail(NvmlCode.functionNotFound);
      scratch.writeUInt32LE(0, 0);
      const code = getRetiredPending(device, scratch);
      return code === NvmlCode.success ? succeed(scratch.readUInt32LE(0) !== 0) : fail(code);
    },
  };
}

/** nvmlValue_t by its nvmlValueType_t; null for a type nvml.h does not define. */
function readFieldValue(field: Buffer, valueType: number): number | null {
  const at = FIELD_VALUE.value;
  switch (valueType) {
    case 0:
      return field.readDoubleLE(at);
    case 1:
      return field.readUInt32LE(at);
    case 2: // unsigned long: 64 bits on Linux
    case 3:
      return Number(field.readBigUInt64LE(at));
    case 4:
      return Number(field.readBigInt64LE(at));
    case 5:
      return field.readInt32LE(at);
    case 6:
      return field.readUInt16LE(at);
    default:
      return null;
  }
}
