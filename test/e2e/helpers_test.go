package e2e

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

func metaName(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
