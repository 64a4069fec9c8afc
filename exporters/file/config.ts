import { Type, type Static } from '@sinclair/typebox';
import { Duration, Obj } from '../../src/config/types.ts';

const Signal = Type.Union([Type.Literal('traces'), Type.Literal('metrics'), Type.Literal('logs'), Type.Literal('alerts')]);

/**
 * The schema of the file exporter's config (TypeBox; defaults applied by Ajv): path, signals written, rotation
 * size (`max_megabytes`, MiB; 0 = never) and backups kept, and the fsync policy (default `batch`: synced before acknowledged).
 */
export const FileConfigSchema = Obj({
  path: Type.String({ minLength: 1, description: 'the file lines are appended to (its folder is created)' }),
  signals: Type.Array(Signal, { default: ['traces', 'metrics', 'logs', 'alerts'], uniqueItems: true, description: 'what is written' }),
  max_megabytes: Type.Number({ minimum: 0, default: 100, description: 'rotate once the file would grow past this; 0 = never rotate' }),
  max_backups: Type.Integer({ minimum: 0, default: 10, description: 'rotated files kept (path.1 is the newest); 0 = none kept' }),
  fsync: Type.Union([Type.Literal('batch'), Type.Literal('interval'), Type.Literal('none'), Type.Boolean()], {
    default: 'batch',
    description:
      'when written lines are fdatasync\'d: batch = before each (grouped) write is acknowledged, interval = every fsync_interval, none = never (rotation and shutdown still sync); true = batch, false = none',
  }),
  fsync_interval: Duration('1s', 'with fsync: interval, how often unsynced lines are fdatasync\'d'),
});
/** The file exporter's validated config, defaults applied. */
export type FileConfig = Static<typeof FileConfigSchema>;
