// Contract <-> domain for the common messages (Money, Period, Timestamp):
// the platform kit's, shared with the other services.
export {
  emptyToNull,
  moneyFromProto,
  moneyToProto,
  optionalMoneyToProto,
  optionalTimeFromProto,
  optionalTimeToProto,
  periodFromProto,
  periodToProto,
  textOrEmpty,
  timeToProto,
} from "../../../../platform/src/proto-common.js";
