import { DescribeAlarmsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';

/**
 * One DescribeAlarms over a deployment's alarms (metric and composite). Returns a description of what is wrong (an
 * alarm in ALARM, or one that does not exist and so cannot be watched), or undefined when all is well.
 */
export async function alarmProblems(cloudWatch: CloudWatchClient, names: readonly string[]): Promise<string | undefined> {
  if (names.length === 0) return undefined;
  const out = await cloudWatch.send(
    new DescribeAlarmsCommand({ AlarmNames: [...names], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: 100 }),
  );
  const found = [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])];
  const alarming = found.filter((a) => a.StateValue === 'ALARM').map((a) => a.AlarmName);
  if (alarming.length > 0) return `alarm ${alarming.join(', ')} is in ALARM`;
  const missing = names.filter((n) => !found.some((a) => a.AlarmName === n));
  if (missing.length > 0) return `alarm ${missing.join(', ')} does not exist, so it cannot be watched`;
  return undefined;
}
