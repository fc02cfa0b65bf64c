// Extension entry. Activation only builds the controller (registrations, a status-bar item, an
// output channel); models load in worker threads afterwards, so activation stays in milliseconds.
import type * as vscode from 'vscode';
import { Controller } from './controller';

let controller: Controller | undefined;

export function activate(context: vscode.ExtensionContext): { controller: Controller } {
  const t0 = performance.now();
  controller = new Controller(context);
  context.subscriptions.push(controller);
  controller.log.info(`activated in ${(performance.now() - t0).toFixed(1)} ms`);
  // returned as the extension's API: lets tests (and the e2e helper) reach the running state
  return { controller };
}

export function deactivate(): void {
  controller?.dispose();
  controller = undefined;
}
