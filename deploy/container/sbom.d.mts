// Types for sbom.mjs, which runs as plain JavaScript inside the image build.
export interface DpkgPackage {
  name: string;
  version: string;
  arch: string;
  source: string;
}
export interface CdxComponent {
  type: string;
  'bom-ref': string;
  name: string;
  version: string;
  purl?: string;
  properties?: Array<{ name: string; value: string }>;
}
export interface CdxBom {
  bomFormat: 'CycloneDX';
  specVersion: string;
  serialNumber?: string;
  version: number;
  metadata: {
    timestamp?: string;
    tools?: unknown;
    component: Record<string, unknown>;
    properties: Array<{ name: string; value: string }>;
  };
  components: CdxComponent[];
  dependencies: Array<{ ref: string; dependsOn?: string[] }>;
}
export function parseDpkgStatus(text: string): DpkgPackage[];
export function debComponent(pkg: DpkgPackage): CdxComponent;
export function nodeComponents(versions: Record<string, string>): CdxComponent[];
export function mergeSbom(input: {
  npmBom: Record<string, unknown>;
  dpkgPackages: DpkgPackage[];
  nodeVersions: Record<string, string>;
  platform: string;
  version: string;
  epochSeconds: number | undefined;
}): CdxBom;
export function readDpkgStatus(path: string): string;
export function keepPresentNpm<
  T extends { components?: CdxComponent[]; dependencies?: Array<{ ref: string; dependsOn?: string[] }> },
>(
  npmBom: T,
  presentPaths: string[],
): T & { components: CdxComponent[]; dependencies: Array<{ ref: string; dependsOn: string[] }> };
